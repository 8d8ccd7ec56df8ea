"""Typed settings for articlebot, read from the environment, `.env` and an optional TOML file."""

from config.settings import DEFAULT_MODEL, Settings, SettingsError, load_settings

__all__ = ["DEFAULT_MODEL", "Settings", "SettingsError", "load_settings"]
