"""Spaced starts across processes: one start per key per interval, whoever asks."""

from __future__ import annotations

from pathlib import Path

from index.store.slots import SqliteSpacedSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_starts_once_per_interval_across_connections(tmp_path: Path) -> None:
    clock = Clock()
    # Two processes' own connections to one file.
    first = SqliteSpacedSlots(tmp_path / "slots.sqlite", clock)
    second = SqliteSpacedSlots(tmp_path / "slots.sqlite", clock)

    assert first.take("identify:0", 5.0) == 0.0
    clock.now += 2.0
    assert second.take("identify:0", 5.0) == 3.0
    assert second.take("identify:1", 5.0) == 0.0

    clock.now += 3.0
    assert second.take("identify:0", 5.0) == 0.0
    assert first.take("identify:0", 5.0) == 5.0


def test_a_refused_take_does_not_push_the_slot_later(tmp_path: Path) -> None:
    clock = Clock()
    slots = SqliteSpacedSlots(tmp_path / "slots.sqlite", clock)
    slots.take("k", 5.0)
    for _ in range(3):
        clock.now += 1.0
        slots.take("k", 5.0)

    clock.now += 2.0
    assert slots.take("k", 5.0) == 0.0
