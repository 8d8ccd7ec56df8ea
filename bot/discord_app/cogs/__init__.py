"""Slash commands and listeners, grouped by who uses them: askers, server admins, the owner."""
