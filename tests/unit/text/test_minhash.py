from __future__ import annotations

import numpy as np

from index.text.minhash import NEAR_DUPLICATE, from_bytes, signature, similarity, to_bytes
from tests.feed_site import story_text


def test_syndicated_copies_are_near_duplicates_and_other_stories_are_not() -> None:
    story = story_text(1).replace("\n\n", " ")
    copy = f"By a staff reporter. {story} Reporting by the wire; editing by the desk."
    trimmed = story.rsplit(". ", 2)[0]
    others = np.stack([signature(story_text(seed)) for seed in range(2, 12)])
    original = signature(story)
    assert similarity(signature(copy), original[None, :])[0] >= NEAR_DUPLICATE
    assert similarity(signature(trimmed), original[None, :])[0] >= NEAR_DUPLICATE
    assert similarity(original, others).max() < NEAR_DUPLICATE


def test_signature_round_trips_through_bytes() -> None:
    sig = signature("The harbour reopened on Tuesday after a week of repairs.")
    assert np.array_equal(from_bytes(to_bytes(sig)), sig)
    assert similarity(sig, sig[None, :])[0] == 1.0
