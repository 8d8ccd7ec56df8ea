"""The query path, torch against ONNX, side by side in one run (ratios: the machine is shared).

    python -m bench.query_path_bench [--dataset ../shared/eval/squad] [--only quality,cold,...]

- quality: dev-set hit@1 and hit@5 with ONNX question vectors and with torch ones, one index.
- latency: question to ranked hits with quotes, p50/p99, at 10k and 100k passages, both paths.
- cold: `articlebot ask` from process start to the answer printed, and the answering
  process's peak RSS, on a 100k-passage index, both paths alternated; `articlebot --help` time.
- million: the vector index at 1M passages (the dataset's vectors plus blends of them): exact
  against the approximate index (IVF) and a runner-up (IVF with twice the lists; HNSW with
  --hnsw): build time, memory, recall@10 against exact on the dev questions, p50/p99 per
  question, and filtered searches keeping 0.5%, 5% and 50% of the rows.
- busy: `Engine.ask` p50 over 50 questions quiet and beside two CPU-bound processes.
- lag: event-loop lag while the engine reindexes ~10k passages in a worker thread.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.build_bench import DEFAULT_DATASET, live_passages, synthetic_generation
from config import load_settings
from index.build import document_text
from index.encode.embedder import Embedder
from index.encode.export import CACHE_DIR, query_model_for_build
from index.encode.onnx import QUERY_MODEL_DIR, OnnxQueryEncoder
from index.engine import Engine, tuning_from
from index.evaluate import Dataset, load_dataset, score, subset
from index.models import Mode, ParsedArticle
from index.query.learned import MODEL_PATH
from index.query.searcher import EncodesQueries, Searcher
from index.store.layout import DataDir
from index.store.vectors import PROBES, AllowedRows, VectorIndex

SECTIONS = ("quality", "latency", "cold", "million", "busy", "lag")


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.settings = load_settings(environ={}, env_file=None)
        self.dataset: Dataset = load_dataset(args.dataset)
        if args.articles:
            self.dataset = subset(self.dataset, args.articles)
        self.embedder = Embedder(self.settings.model)
        self.data_dir = args.data_dir or tmp / "dev"
        engine = Engine(replace(self.settings, data_dir=self.data_dir), self.embedder)
        build = engine.build_from(self.dataset.articles)
        print(f"dev index: {build.passages} passages of {len(self.dataset.articles)} articles")
        self.folder = DataDir(self.data_dir).current()
        self.onnx = OnnxQueryEncoder(self.folder / QUERY_MODEL_DIR)

    def questions(self, n: int | None = None) -> list[str]:
        texts = [q.text for q in self.dataset.questions]
        return texts[:n] if n else texts

    def searcher(
        self, encoder: EncodesQueries, folder: Path | None = None, ranker: str | None = None
    ) -> Searcher:
        tuning = tuning_from(self.settings)
        return Searcher(
            folder or self.folder, encoder, replace(tuning, ranker=ranker or tuning.ranker)
        )

    def quality(self) -> None:
        questions = self.dataset.questions[: self.args.questions]
        texts = [q.text for q in questions]
        # Each side's question vectors are computed up front by its own model (torch in
        # batches, ONNX one by one as questions come), so the run does not take hours on a
        # busy machine; the searches then differ only in the vectors.
        torch_vectors = self.embedder.encode(texts)
        onnx_vectors = np.vstack([self.onnx.encode([t]) for t in texts])
        encoders = {
            "torch": _Precomputed(self.embedder, texts, torch_vectors),
            "onnx": _Precomputed(self.onnx, texts, onnx_vectors),
        }
        cosines = np.sum(torch_vectors * onnx_vectors, axis=1)
        print(f"  question cosine onnx/torch: min {cosines.min():.4f}, mean {cosines.mean():.4f}")
        rows = []
        for label, encoder in encoders.items():
            s = score(self.searcher(encoder), questions, Mode.HYBRID)
            rows.append((label, s.rate(1), s.rate(5)))
            print(f"  {label:5}  hit@1 {s.rate(1):.4f}  hit@5 {s.rate(5):.4f}  ({s.questions} q)")
        print(
            f"  onnx - torch: hit@1 {rows[1][1] - rows[0][1]:+.4f}, "
            f"hit@5 {rows[1][2] - rows[0][2]:+.4f}  (aim within 0.005)"
        )

    def _synthetic(self, target: int, with_onnx: bool = True) -> Path:
        folder = self.tmp / f"synthetic-{target}"
        if (folder / "CURRENT").is_file():
            return folder
        measured = live_passages(self.data_dir, self.embedder.dimension)
        articles = [p.article for p in self.dataset.articles]
        docs = [
            document_text(articles[a].title, articles[a].text[s:e], articles[a].date)
            for a, s, e in measured.spans
        ]
        cache = self.data_dir / CACHE_DIR
        maker = (lambda b: query_model_for_build(self.embedder, cache, b)) if with_onnx else None
        synthetic_generation(
            folder,
            articles,
            measured.vectors,
            docs,
            measured.spans,
            measured.sentences,
            target,
            self.embedder.name,
            query_model=maker,
        )
        return folder

    def latency(self) -> None:
        """Both encoders with the fused ranking, then the ONNX encoder with each ranker (the
        learned one reads the top candidates' texts and features: its cost is the ratio)."""
        questions = self.questions(self.args.queries)
        runs = [("torch", "fused"), ("onnx", "fused")]
        if MODEL_PATH.exists():
            runs.append(("onnx", "learned"))
        else:
            print(f"  no learned ranker at {MODEL_PATH} (python -m bench.train_ranker): fused only")
        for target in (10_000, 100_000):
            folder = self._synthetic(target)
            searchers = {}
            for label, ranker in runs:
                encoder = self.embedder if label == "torch" else self.onnx
                searchers[f"{label} {ranker}"] = self.searcher(
                    encoder, DataDir(folder).current(), ranker
                )
            for searcher in searchers.values():
                for q in questions[:10]:
                    searcher.search(q, self.settings.top_k)
            # Question by question, every run in turn: a shared machine's load changes from
            # one minute to the next, and the ratios compare runs under the same load.
            times: dict[str, list[float]] = {name: [] for name in searchers}
            for q in questions:
                for name, searcher in searchers.items():
                    started = time.perf_counter()
                    searcher.search(q, self.settings.top_k)
                    times[name].append(time.perf_counter() - started)
            p50: dict[str, float] = {}
            for name, taken in times.items():
                p50[name] = statistics.median(taken)
                label, ranker = name.split()
                print(
                    f"  {target:>9,} passages, {label:5} {ranker:7}: p50 "
                    f"{1000 * statistics.median(taken):6.1f} ms, "
                    f"p99 {1000 * _pct(taken, 0.99):6.1f} ms"
                )
            if "onnx learned" in p50:
                ratio = p50["onnx learned"] / p50["onnx fused"]
                print(f"  {target:>9,} passages: learned / fused p50 {ratio:.2f} (aim at most 1.3)")

    def cold(self) -> None:
        folder = self._synthetic(100_000)
        question = self.questions(1)[0]
        probe = (
            "import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)\n"
            "wall = time.perf_counter() - t\n"
            "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
            "print(f'{wall} {rss}')\n"
        )
        command = [sys.executable, "-m", "bot.cli", "ask", question]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEBOT_")}
        env["ARTICLEBOT_DATA_DIR"] = str(folder)
        env["ARTICLEBOT_LOG_LEVEL"] = "WARNING"
        results: dict[str, list[tuple[float, float]]] = {"torch": [], "onnx": []}
        for _ in range(self.args.repeats):
            for label, flag in (("torch", "false"), ("onnx", "true")):
                env["ARTICLEBOT_ONNX_QUERIES"] = flag
                done = subprocess.run(
                    [sys.executable, "-c", probe, *command],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall, rss = (float(x) for x in done.stdout.split())
                results[label].append((wall, rss))
        for label, runs in results.items():
            print(
                f"  ask at 100k passages, {label:5}: start to answer "
                f"{statistics.median(w for w, _ in runs):.2f} s, peak RSS "
                f"{statistics.median(r for _, r in runs):.0f} MB (median of {len(runs)})"
            )
        helps = []
        for _ in range(self.args.repeats):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "--help"],
                env=env,
                stdout=subprocess.DEVNULL,
                check=True,
            )
            helps.append(time.perf_counter() - started)
        print(f"  articlebot --help: {statistics.median(helps):.2f} s (median of {len(helps)})")

    def million(self) -> None:
        target = self.args.million
        real = live_passages(self.data_dir, self.embedder.dimension).vectors
        rng = np.random.default_rng(0)
        # Blends of two real passages plus a little noise: new points, in the regions real
        # passages occupy (pure noise would be equally far from every question).
        count = target - len(real)
        first, second = rng.integers(0, len(real), count), rng.integers(0, len(real), count)
        noisy = real[first] + 0.5 * real[second]
        noisy += rng.normal(0, 0.02, noisy.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        vectors = np.vstack([real, noisy]).astype(np.float32)
        del noisy
        print(f"  {len(vectors):,} vectors ({len(real):,} real), {vectors.nbytes / 2**20:.0f} MB")
        queries = np.vstack([self.onnx.encode([q]) for q in self.questions(self.args.queries)])
        # Every search here is one question, as the engine asks them, with FAISS's default
        # thread pool as the engine leaves it: an IVF search runs on the calling thread, the
        # flat scan on the pool. Builds use both cores, as a reindex does.
        exact = self._report(
            "exact (flat)", partial(_top10, VectorIndex.build(vectors, vectors.shape[1])), queries
        )
        path = self.tmp / "million.faiss"
        before = _rss_mb()
        started = time.perf_counter()
        chosen = VectorIndex.build(vectors, vectors.shape[1], approximate=True)
        built = time.perf_counter() - started
        grown = _rss_mb() - before
        chosen.save(path)
        lists = chosen.lists
        print(
            f"  chosen: IVF{lists},Flat (VectorIndex), build {built:.0f} s, RSS +{grown:.0f} MB, "
            f"file {path.stat().st_size / 2**20:.0f} MB; {self._loaded(path)}"
        )
        for probes in sorted({chosen.probes // 2, chosen.probes, 2 * chosen.probes}):
            chosen.probes = probes
            self._report(f"IVF{lists} probes {probes:<4}", partial(_top10, chosen), queries, exact)
        chosen.probes = PROBES
        for share in (0.005, 0.05, 0.5):
            allowed = AllowedRows.of(np.flatnonzero(rng.random(len(vectors)) < share))
            found, times = self._run_queries(partial(_top10, chosen, allowed=allowed), queries)
            full = sum(len(r) == 10 for r in found)
            print(
                f"  chosen, filter keeping {share:.1%} ({len(allowed.rows):,} rows): "
                f"{full}/{len(found)} questions got 10 hits, "
                f"p50 {1000 * statistics.median(times):.2f} ms"
            )
        del chosen
        path.unlink()
        self._runner_up(vectors, queries, exact, 2 * lists)
        if self.args.hnsw:
            self._hnsw(vectors, queries, exact)

    def _runner_up(
        self, vectors: np.ndarray, queries: np.ndarray, exact: list[np.ndarray], lists: int
    ) -> None:
        """IVF with `lists` lists, more than the chosen one: less scanned per question, a
        longer training."""
        before = _rss_mb()
        started = time.perf_counter()
        ivf: Any = faiss.index_factory(
            vectors.shape[1], f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT
        )
        picks = np.random.default_rng(0).choice(len(vectors), 64 * lists, False)
        ivf.train(vectors[np.sort(picks)])
        ivf.add(vectors)
        built = time.perf_counter() - started
        grown = _rss_mb() - before
        print(f"  runner-up: IVF{lists},Flat, build {built:.0f} s, RSS +{grown:.0f} MB")
        for probes in (PROBES // 2, PROBES, 2 * PROBES):
            ivf.nprobe = probes
            self._report(
                f"IVF{lists} probes {probes:<4}",
                lambda q: ivf.search(q.reshape(1, -1), 10)[1][0],
                queries,
                exact,
            )

    def _hnsw(self, vectors: np.ndarray, queries: np.ndarray, exact: list[np.ndarray]) -> None:
        neighbours, construction = (int(x) for x in self.args.hnsw.split(","))
        before = _rss_mb()
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], neighbours, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = construction
        hnsw.add(vectors)
        built = time.perf_counter() - started
        print(
            f"  HNSW M {neighbours} efConstruction {construction}: build {built:.0f} s, "
            f"RSS +{_rss_mb() - before:.0f} MB"
        )
        for ef in (256, 512, 1024):
            hnsw.hnsw.efSearch = ef
            self._report(
                f"HNSW efSearch {ef:<5}",
                lambda q: hnsw.search(q.reshape(1, -1), 10)[1][0],
                queries,
                exact,
            )

    def _report(
        self,
        label: str,
        run: Callable[[np.ndarray], np.ndarray],
        queries: np.ndarray,
        exact: list[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Times `run` over the questions (after a few to warm up) and prints its recall
        against `exact`; returns what it found."""
        for q in queries[:10]:
            run(q)
        found, times = self._run_queries(run, queries)
        recall = f"recall@10 {self._recall(found, exact):.4f}, " if exact is not None else ""
        print(
            f"  {label}: {recall}p50 {1000 * statistics.median(times):6.2f} ms, "
            f"p99 {1000 * _pct(times, 0.99):6.2f} ms per question"
        )
        return found

    @staticmethod
    def _loaded(path: Path) -> str:
        """Load time and RSS of a fresh process that loads the index, as an answering one does."""
        probe = (
            "import sys, time\n"
            "t = time.perf_counter()\n"
            "from index.store.vectors import VectorIndex\n"
            "index = VectorIndex.load(__import__('pathlib').Path(sys.argv[1]))\n"
            "took = time.perf_counter() - t\n"
            "rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0]\n"
            "print(f'{took:.1f} {int(rss.split()[1]) / 1024:.0f}')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
        )
        took, rss = done.stdout.split()
        return f"loaded by a fresh process in {took} s, its RSS {rss} MB"

    @staticmethod
    def _run_queries(
        run: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
    ) -> tuple[list[np.ndarray], list[float]]:
        found, times = [], []
        for q in queries:
            started = time.perf_counter()
            found.append(run(q))
            times.append(time.perf_counter() - started)
        return found, times

    @staticmethod
    def _recall(found: list[np.ndarray], exact: list[np.ndarray]) -> float:
        return float(
            np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)])
        )

    def busy(self) -> None:
        questions = self.questions(50)
        engines = {
            "torch": Engine(replace(self.settings, data_dir=self.data_dir), self.embedder),
            "onnx": Engine(replace(self.settings, data_dir=self.data_dir)),
        }

        def p50(engine: Engine) -> float:
            engine.ask(questions[0])
            times = []
            for q in questions:
                started = time.perf_counter()
                engine.ask(q)
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        # Quiet and busy rounds alternate, so that load from elsewhere on a shared machine
        # falls on both alike; each side's figure is the median of its rounds.
        rounds: dict[str, dict[str, list[float]]] = {"quiet": {}, "busy": {}}
        for _ in range(self.args.repeats):
            for label, e in engines.items():
                rounds["quiet"].setdefault(label, []).append(p50(e))
            spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(2)]
            for p in spinners:
                p.start()
            try:
                for label, e in engines.items():
                    rounds["busy"].setdefault(label, []).append(p50(e))
            finally:
                for p in spinners:
                    p.terminate()
                    p.join()
        quiet = {label: statistics.median(v) for label, v in rounds["quiet"].items()}
        loaded = {label: statistics.median(v) for label, v in rounds["busy"].items()}
        for label in engines:
            print(
                f"  Engine.ask p50, {label:5}: quiet {1000 * quiet[label]:.1f} ms, beside two busy "
                f"processes {1000 * loaded[label]:.1f} ms, ratio {loaded[label] / quiet[label]:.2f}"
                "  (aim <= 2)"
            )

    def lag(self) -> None:
        articles = self.dataset.articles
        chosen, passages = [], 0
        for p in articles:
            chosen.append(p)
            passages += len(p.article.text) // 180  # about one window per sentence
            if passages >= self.args.lag_passages:
                break
        engine = Engine(replace(self.settings, data_dir=self.tmp / "lag"), self.embedder)
        engine.build_from(chosen[:1])
        lags = asyncio.run(_lag_during(engine, chosen))
        print(
            f"  event-loop lag during a reindex ({engine.status().passages:,} passages): "
            f"p50 {1000 * statistics.median(lags):.1f} ms, p99 {1000 * _pct(lags, 0.99):.1f} ms, "
            f"max {1000 * max(lags):.1f} ms over {len(lags)} ticks"
        )


def _top10(index: VectorIndex, query: np.ndarray, allowed: AllowedRows | None = None) -> np.ndarray:
    return index.search(query, 10, allowed).rows


async def _lag_during(engine: Engine, articles: list[ParsedArticle]) -> list[float]:
    """Lateness of a 10 ms tick while the engine rebuilds in a worker thread, as the bot does,
    and answers a question every 100 ms in another (with the build's torch model: the
    injected embedder serves both)."""
    build = asyncio.create_task(asyncio.to_thread(engine.build_from, articles))
    lags: list[float] = []
    tick = 0
    while not build.done():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, time.perf_counter() - started - 0.01))
        tick += 1
        if tick % 10 == 0:
            await asyncio.to_thread(engine.ask, "Who was the first president?")
    await build
    return lags


class _Precomputed:
    """Question vectors made beforehand by a real encoder, served by question text; a text
    the searcher changed (time words taken out) is encoded when asked."""

    def __init__(self, encoder: EncodesQueries, texts: list[str], vectors: np.ndarray) -> None:
        self.name = encoder.name
        self.dimension = encoder.dimension
        self._encoder = encoder
        self._vectors = {t.strip(): v for t, v in zip(texts, vectors, strict=True)}

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        for t in texts:
            if t not in self._vectors:
                self._vectors[t] = self._encoder.encode([t])[0]
        return np.vstack([self._vectors[t] for t in texts])


def _spin() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--articles", type=int, default=None, help="first N articles only")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse this dev index")
    parser.add_argument("--questions", type=int, default=None, help="quality: first N only")
    parser.add_argument("--queries", type=int, default=200, help="latency and 1M questions")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--hnsw", default="", help="M,efConstruction: also HNSW at 1M (slow)")
    parser.add_argument("--lag-passages", type=int, default=10_000)
    parser.add_argument("--only", default=",".join(SECTIONS), help=",".join(SECTIONS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="articlebot-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        for section in args.only.split(","):
            print(f"\n[{section}]  load average {os.getloadavg()[0]:.1f}", flush=True)
            getattr(bench, section)()
            sys.stdout.flush()


if __name__ == "__main__":
    main()
