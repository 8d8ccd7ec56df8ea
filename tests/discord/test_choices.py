"""Outlet autocomplete choices: pure, within Discord's limits."""

from __future__ import annotations

from bot.discord_app.choices import outlet_choices


def test_outlets_matching_what_is_typed_best_first() -> None:
    outlets = ["The Northern Ledger", "Coastline Daily", "Daily Tide", "Tidewater Post"]
    assert [c.value for c in outlet_choices(outlets, "")] == sorted(outlets, key=str.casefold)
    assert [c.value for c in outlet_choices(outlets, "dai")] == ["Daily Tide", "Coastline Daily"]
    assert [c.value for c in outlet_choices(outlets, "TIDE")] == ["Tidewater Post", "Daily Tide"]
    assert outlet_choices(outlets, "zzz") == []


def test_at_most_25_choices_of_at_most_100_characters() -> None:
    outlets = [f"Outlet {n:02d}" for n in range(40)] + ["x" * 101]
    choices = outlet_choices(outlets, "")
    assert len(choices) == 25
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)
