from index.query.followup import carried_terms, expand, has_anaphor, needs_context


def test_pronouns_mark_a_follow_up() -> None:
    assert has_anaphor("When did that happen?")
    assert has_anaphor("Who ordered it?")
    assert not has_anaphor("Who ordered the strikes on Iraq?")


def test_context_only_when_the_follow_up_alone_is_unsure() -> None:
    assert needs_context("When did it happen?", 0.3, 0.5)
    assert not needs_context("When did it happen?", 0.7, 0.5)
    assert not needs_context("When did the strikes happen?", 0.1, 0.5)


def test_the_earlier_questions_informative_words_are_carried() -> None:
    terms = carried_terms("Who ordered the strikes on Iranian-backed militants?", "When was it?")
    assert "strikes" in terms and "militants" in terms
    assert "Who" not in terms and "the" not in terms
    assert expand("When was it?", "Who ordered the strikes?").startswith("When was it? ")
    assert carried_terms("the strikes", "the strikes?") == []
