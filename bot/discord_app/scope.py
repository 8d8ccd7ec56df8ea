"""Which collections a place searches and changes.

Articles added in a server live in that server's own collection and are searched only there;
every server also searches the operator's shared collection, which is the only one a DM sees.
"""

from __future__ import annotations

from index.models import SHARED_COLLECTION


def own_collection(guild_id: int) -> str:
    return f"guild:{guild_id}"


def searched_collections(guild_id: int | None) -> frozenset[str]:
    if guild_id is None:
        return frozenset({SHARED_COLLECTION})
    return frozenset({SHARED_COLLECTION, own_collection(guild_id)})


def answer_scope(guild_id: int | None, user_id: int) -> str:
    """Where votes on an answer count, and who may press its buttons: the server, or in a
    DM the one member."""
    return own_collection(guild_id) if guild_id is not None else f"dm:{user_id}"
