"""The articlebot engine: read articles, split them into passages, embed, store and search.

Nothing under this package knows about Discord; the faces in `bot/` call into it.
"""
