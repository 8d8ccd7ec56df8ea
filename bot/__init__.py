"""The faces of articlebot: command line, terminal chat and the Discord bot."""
