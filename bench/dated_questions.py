"""A small dated question set: generated news-like stories that recur weekly, and questions
that only their date can answer.

    python -m bench.dated_questions OUT_DIR     # writes articles.jsonl and questions.jsonl

How it is built (deterministic, seed 0): ten running stories (a harbour council's budget, a
football club's results, a ferry company's cancellations ...), each published as ten weekly
editions from 2024-03-04 by one of three outlets, on a random weekday. Editions of a story
share their wording and differ in one fact (an amount, a name, a score) and in filler
sentences drawn from a common pool. Each edition gets one question about its story with a
time word ("today", "yesterday", "this week", "last week", "recently", "last month", "this
year") and an `as_of` date chosen so that the edition falls in the period the word names
relative to `as_of`. The fact the question asks for is not in the question, so only the date
tells the editions apart: a hit is a result from an edition in that period (the `gold` set,
editions published by `as_of`) whose passage holds that edition's fact. Thirty "stale"
questions more ask "today"/"yesterday" two days after an edition, when the story has none in
that period: their gold is the edition before, which a preference still finds and a hard
filter cannot.

SQuAD (`../shared/eval/squad`) was not used: its articles are undated and mutually distinct,
so time words could not change which article answers.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from index.models import Article, ParsedArticle

START = date(2024, 3, 4)  # a Monday
EDITIONS = 10
OUTLETS = ("Velmar Gazette", "Coastline Daily", "The Northern Ledger")
TIME_WORDS = ("today", "yesterday", "this week", "last week", "recently", "last month", "this year")


@dataclass(frozen=True, slots=True)
class Story:
    subject: str
    fact: str  # with {x}
    question: str  # with {when}
    values: tuple[str, ...]


STORIES = (
    Story(
        "The Velmar harbour council",
        "approved a budget of {x} million euros for the sea wall",
        "How much did the Velmar harbour council approve for the sea wall {when}?",
        tuple(str(n) for n in (12, 17, 23, 28, 31, 36, 42, 47, 53, 58)),
    ),
    Story(
        "Kestrel Rovers",
        "beat {x} in the league match at Holloway Park",
        "Which team did Kestrel Rovers beat at Holloway Park {when}?",
        (
            "Ashford Town",
            "Brennan United",
            "Carlow Athletic",
            "Dunmore City",
            "Elswick Wanderers",
            "Fenwick Albion",
            "Glenrock Rangers",
            "Harwood Villa",
            "Inchmore Celtic",
            "Jarrow Harriers",
        ),
    ),
    Story(
        "The Merrow ferry company",
        "cancelled {x} crossings to the islands because of storms",
        "How many crossings to the islands did the Merrow ferry company cancel {when}?",
        tuple(str(n) for n in (4, 7, 9, 11, 14, 16, 19, 21, 24, 26)),
    ),
    Story(
        "Brannock General Hospital",
        "named Dr {x} as head of its new cardiology ward",
        "Who did Brannock General Hospital name as head of the cardiology ward {when}?",
        (
            "Ilse Marten",
            "Tomas Reyes",
            "Anika Holt",
            "Pavel Novak",
            "Grace Okafor",
            "Lena Duarte",
            "Samir Haddad",
            "Ruth Calloway",
            "Jonas Berg",
            "Mei Tanaka",
        ),
    ),
    Story(
        "The Dunmore transit authority",
        "set the single bus fare at {x} cents",
        "What did the Dunmore transit authority set the single bus fare at {when}?",
        tuple(str(n) for n in (140, 145, 150, 155, 160, 165, 170, 175, 180, 185)),
    ),
    Story(
        "The Lissard weather service",
        "recorded {x} millimetres of rain at the airport station",
        "How much rain did the Lissard weather service record at the airport {when}?",
        tuple(str(n) for n in (8, 13, 19, 22, 27, 33, 38, 41, 46, 52)),
    ),
    Story(
        "The Pellow school board",
        "chose {x} as the theme of the spring science fair",
        "What theme did the Pellow school board choose for the science fair {when}?",
        (
            "volcanoes",
            "tidal energy",
            "honeybees",
            "robot arms",
            "clean water",
            "bird migration",
            "solar ovens",
            "soil health",
            "rocket fuel",
            "coral reefs",
        ),
    ),
    Story(
        "Tarn valley grain cooperative",
        "sold its wheat at {x} euros a tonne",
        "At what price did the Tarn valley grain cooperative sell its wheat {when}?",
        tuple(str(n) for n in (201, 208, 214, 219, 226, 231, 237, 243, 248, 254)),
    ),
    Story(
        "Caddow police",
        "arrested {x} people after thefts at the night market",
        "How many people did Caddow police arrest after the night market thefts {when}?",
        tuple(str(n) for n in (2, 3, 5, 6, 8, 10, 12, 13, 15, 18)),
    ),
    Story(
        "The Orrin city museum",
        "opened an exhibition of {x} from private collections",
        "What exhibition did the Orrin city museum open {when}?",
        (
            "Roman coins",
            "Japanese woodblock prints",
            "Victorian toys",
            "Inuit carvings",
            "Art Deco posters",
            "medieval maps",
            "Flemish tapestries",
            "early cameras",
            "Persian ceramics",
            "ship models",
        ),
    ),
)

FILLER = (
    "Officials said the decision followed weeks of discussion.",
    "Residents gathered outside the town hall to hear the news.",
    "A spokesperson declined to comment on the timing.",
    "Local businesses welcomed the announcement.",
    "Critics said more details were needed before the next meeting.",
    "The figures will be reviewed again at the end of the month.",
    "Several people shared their views on social media.",
    "The regional newspaper first reported the plan last year.",
    "Opposition members asked for an independent review.",
    "The next update is expected after the holiday.",
)


@dataclass(frozen=True, slots=True)
class DatedQuestion:
    id: str
    question: str
    as_of: str
    time_word: str
    gold: tuple[str, ...]
    stale: bool = False


@dataclass(frozen=True, slots=True)
class DatedSet:
    articles: list[ParsedArticle]
    questions: list[DatedQuestion]
    facts: dict[str, str]  # article id -> the fact a question about it asks for


def _as_of(word: str, published: date, rng: random.Random) -> date:
    """A day from which `word` names a period that holds `published`."""
    monday = published - timedelta(days=published.weekday())
    if word == "today":
        return published
    if word == "yesterday":
        return published + timedelta(days=1)
    if word == "this week":
        return published + timedelta(days=rng.randint(0, 6 - published.weekday()))
    if word == "last week":
        return monday + timedelta(days=7 + rng.randint(0, 6))
    if word == "recently":
        return published + timedelta(days=rng.randint(1, 4))
    if word == "last month":
        return (published.replace(day=28) + timedelta(days=10)).replace(day=rng.randint(1, 20))
    return published + timedelta(days=rng.randint(0, 30))


def _in_period(word: str, published: date, as_of: date) -> bool:
    """Whether `published` is in the period `word` names from `as_of` (as the engine reads
    it: calendar days, weeks and months; "recently" the last 14 days)."""
    if published > as_of:
        return False
    if word == "today":
        return published == as_of
    if word == "yesterday":
        return published == as_of - timedelta(days=1)
    week = as_of - timedelta(days=as_of.weekday())
    if word == "this week":
        return published >= week
    if word == "last week":
        return week - timedelta(days=7) <= published < week
    if word == "recently":
        return published > as_of - timedelta(days=14)
    if word == "last month":
        first = as_of.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1) <= published < first
    return published.year == as_of.year


def build(seed: int = 0) -> DatedSet:
    rng = random.Random(seed)
    articles: list[ParsedArticle] = []
    published_on: dict[str, tuple[int, date, str]] = {}
    for s, story in enumerate(STORIES):
        values = list(story.values)
        rng.shuffle(values)
        for week, value in enumerate(values[:EDITIONS]):
            published = START + timedelta(weeks=week, days=rng.randint(0, 4))
            fillers = rng.sample(FILLER, 3)
            text = (
                f"{story.subject} {story.fact.format(x=value)}, according to a statement "
                f"issued on {published:%A}. {' '.join(fillers)}"
            )
            article_id = f"story{s}-week{week}"
            title = f"{story.subject}: {story.fact.format(x=value)}"
            articles.append(
                ParsedArticle(
                    Article(
                        id=article_id,
                        title=title,
                        text=text,
                        date=published.isoformat(),
                        source=rng.choice(OUTLETS),
                        url=f"https://news.example/{article_id}",
                    ),
                    (),
                    "dated_questions",
                )
            )
            published_on[article_id] = (s, published, value)
    questions = []
    for n, (article_id, (s, published, _)) in enumerate(published_on.items()):
        word = TIME_WORDS[n % len(TIME_WORDS)]
        as_of = _as_of(word, published, rng)
        gold = tuple(
            other
            for other, (o_story, o_published, _) in published_on.items()
            if o_story == s and _in_period(word, o_published, as_of)
        )
        questions.append(
            DatedQuestion(
                id=f"q-{article_id}",
                question=STORIES[s].question.format(when=word),
                as_of=as_of.isoformat(),
                time_word=word,
                gold=gold,
            )
        )
    # Stale questions: the period is two days after an edition and holds none of its story
    # (other stories' editions may be in it). The best answer is then the latest edition
    # by `as_of`; a boost too strong, or a hard filter, would answer with another story.
    for article_id, (s, published, _) in published_on.items():
        if int(article_id.rsplit("week", 1)[1]) % 3 != 2:
            continue
        word = "yesterday" if len(questions) % 2 else "today"
        questions.append(
            DatedQuestion(
                id=f"stale-{article_id}",
                question=STORIES[s].question.format(when=word),
                as_of=(published + timedelta(days=2)).isoformat(),
                time_word=word,
                gold=(article_id,),
                stale=True,
            )
        )
    return DatedSet(articles, questions, {a: v for a, (_, _, v) in published_on.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    dataset = build()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "articles.jsonl").open("w", encoding="utf-8") as fh:
        for p in dataset.articles:
            a = p.article
            record = {"id": a.id, "title": a.title, "date": a.date, "source": a.source}
            fh.write(json.dumps(record | {"url": a.url, "text": a.text}) + "\n")
    with (args.out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for q in dataset.questions:
            line = {"id": q.id, "question": q.question, "as_of": q.as_of, "gold": q.gold}
            fh.write(json.dumps(line) + "\n")
    print(f"{len(dataset.articles)} articles, {len(dataset.questions)} questions in {args.out}")


if __name__ == "__main__":
    main()
