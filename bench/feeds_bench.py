"""Feed polling cost: 50 loopback feeds of 20 entries each, polled through the engine.

Prints, in one run:
- the first poll's throughput (passages indexed per second, fetching and extracting 1000 pages
  included) as a ratio to the model's own encode rate on the same passages (aim >= 0.8);
- the no-change poll's time (every feed answers 304) as a ratio to the first (aim <= 0.02);
- the event loop's p99 lag while the first poll runs in a worker thread, as the bot runs it
  (aim <= 50 ms).

    python -m bench.feeds_bench [--feeds 50] [--entries 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from config import load_settings
from index.build import document_text
from index.encode.embedder import Embedder
from index.engine import Engine
from index.models import PollReport
from index.store.layout import DataDir
from index.store.segments import SegmentedStore, live_rows, read_state
from tests.feed_site import FeedSite, rss20, stories


async def _poll_watching_the_loop(engine: Engine) -> tuple[PollReport, list[float]]:
    """The poll in a worker thread, while the loop measures how late a 10 ms tick wakes."""
    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            expected = loop.time() + 0.01
            await asyncio.sleep(0.01)
            lags.append(max(0.0, loop.time() - expected))

    ticker = asyncio.create_task(tick())
    try:
        report = await asyncio.to_thread(engine.poll_feeds)
    finally:
        done.set()
        await ticker
    return report, lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FeedSite() as site:
        empty = Path(tmp) / "no-sources"
        empty.mkdir()
        (empty / "welcome.txt").write_text("Welcome\n\nThis bot follows the news.\n")
        settings = load_settings(environ={}, env_file=None)
        settings = replace(
            settings,
            data_dir=Path(tmp) / "data",
            sources=(str(empty),),
            feeds=(),
            feed_max_new_entries=args.entries,
            feed_max_articles=0,
        )
        urls = []
        for f in range(args.feeds):
            news = list(stories(f"outlet{f}", args.entries, first_seed=f * args.entries))
            for story in news:
                site.put_story(story)
            body = rss20(f"Outlet {f}", site.base, news, site.base)
            urls.append(site.put(f"/feeds/{f}.xml", "application/rss+xml", body))
        embedder = Embedder(settings.model)
        engine = Engine(replace(settings, feeds=tuple(urls)), embedder)
        engine.rebuild()
        # Warm the model so neither side pays the first-call cost.
        embedder.encode(["warm up the model"] * 64, settings.batch_size)

        started = time.perf_counter()
        first, lags = asyncio.run(_poll_watching_the_loop(engine))
        first_s = time.perf_counter() - started
        assert first.build is not None
        added = sum(len(r.added) for r in first.feeds)
        errors = [r.error for r in first.feeds if r.error]
        site.clear_requests()
        started = time.perf_counter()
        second = engine.poll_feeds(force=True)
        second_s = time.perf_counter() - started
        statuses = sorted({r.status for r in site.requests()})
        assert second.build is None and all(r.not_modified for r in second.feeds)

        state = read_state(DataDir(engine.data_dir).current())
        store = SegmentedStore(engine.data_dir, state)
        refs = store.article_refs()
        spans = store.passage_spans()
        # Passages of articles a later segment replaced are not among what the poll embedded.
        live = live_rows(state, np.array([a for a, _, _ in spans], dtype=np.int64)).passages
        docs = []
        for row, (article_row, start, end) in enumerate(spans):
            ref = refs[article_row]
            if ref.collection == "shared" and ref.url and (live is None or live[row]):
                text = store.article_text(article_row)[start:end]
                docs.append(document_text(ref.title, text, ref.date))
        store.close()
        # In a worker thread, as the poll encodes: torch's CPU threading differs by thread.
        with ThreadPoolExecutor(1) as worker:
            worker.submit(embedder.encode, docs[:64], settings.batch_size).result()
            started = time.perf_counter()
            worker.submit(embedder.encode, docs, settings.batch_size).result()
            encode_s = time.perf_counter() - started

    encode_rate = len(docs) / encode_s
    poll_rate = first.build.embedded / first_s
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else 0.0
    print(f"{args.feeds} feeds x {args.entries} entries: {added} articles added, errors {errors}")
    print(f"first poll:       {first_s:7.1f} s, {first.build.embedded} passages embedded")
    print(f"model encode:     {encode_rate:7.1f} passages/s ({encode_s:.1f} s, same passages)")
    print(f"first poll:       {poll_rate:7.1f} passages/s")
    print(f"first poll / encode throughput ratio: {poll_rate / encode_rate:.3f}  (aim >= 0.8)")
    print(
        f"no-change poll:   {second_s:.3f} s (HTTP statuses {statuses}); "
        f"ratio to first poll: {second_s / first_s:.4f}  (aim <= 0.02)"
    )
    print(
        f"event loop lag during the first poll: p99 {1000 * p99:.1f} ms, "
        f"max {1000 * (lags[-1] if lags else 0.0):.1f} ms over {len(lags)} ticks  (aim <= 50 ms)"
    )


if __name__ == "__main__":
    main()
