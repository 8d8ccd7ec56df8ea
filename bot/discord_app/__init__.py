"""The Discord face: a discord.py bot over the engine. It holds no retrieval logic of its own."""
