"""Update benchmark: add 20 real articles to indexes of 100k and 1M passages.

    python -m bench.update_bench [--sizes 100000,1000000] [--dataset ../shared/eval/squad]

The base indexes are synthetic so that the bench runs in minutes, not the days that
embedding a million passages with the model takes: random unit vectors (384 dimensions, as
the model's), passages of twelve words drawn from a Zipf-like vocabulary for BM25, ten
passages an article, written as one segment; IVF lists trained on them from the settings'
`approximate_from` (200k) on, as a build would. The update is real: 20 articles of the
dataset, split, embedded with the real model and written by `index.build.update_index` (what
the worker calls) in a child process, whose peak RSS is the worker's. As in a worker after a
data directory's first build, the model's ONNX export is in the cache (made first by another
child, with torch), so the worker embeds with ONNX Runtime unless ARTICLEBOT_ONNX_PASSAGES=false.

Printed for each size, as ratios (no thresholds asserted):
- update time against the model's encode time for those 20 articles' passages alone, and
  against the aim (2 x encode + 2 s);
- the worker's peak RSS against the index's vector bytes + 500 MB (the aim), with the RSS
  its loaded encoder holds, and the torch model's;
- a question's answer from the updated index (the new article is found).
And once: a no-change read of a 5 MB `.jsonl` (the dataset's articles repeated), first read
against the second, which the source cache answers without parsing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from config import load_settings
from index.build import document_text, update_index
from index.engine import plan_from
from index.models import Article, Span
from index.store.database import StoredArticle, StoredPassage
from index.store.layout import DataDir
from index.store.lexical import Postings
from index.store.manifest import Manifest, checksum_folder, write_manifest
from index.store.segments import (
    IndexState,
    NewSegment,
    assign_lists,
    imbalance_of,
    write_quantizer,
    write_segment,
    write_state,
)
from index.store.vectors import VectorIndex

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
PER_ARTICLE = 10
WORDS_PER_PASSAGE = 12
VOCABULARY = 30_000
ADDED = 20


def _words() -> list[str]:
    # Letters only, so that stemming and tokenising leave each word as it is.
    letters = "bcdfghjklmnpqrstvwxz"
    out = []
    for i in range(VOCABULARY):
        word, n = "", i
        for _ in range(4):
            word += letters[n % 20] + "a"
            n //= 20
        out.append(word + "x")
    return out


def build_base(data_dir: Path, passages: int, approximate_from: int, model: str) -> None:
    """One segment of synthetic passages, published as the live state."""
    rng = np.random.default_rng(0)
    words = _words()
    ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
    draws = rng.choice(
        VOCABULARY, size=(passages, WORDS_PER_PASSAGE), p=(1 / ranks) / (1 / ranks).sum()
    )
    articles: list[StoredArticle] = []
    stored: list[StoredPassage] = []
    for a in range(passages // PER_ARTICLE):
        sentences = [
            " ".join(words[w] for w in draws[a * PER_ARTICLE + i]) + "." for i in range(PER_ARTICLE)
        ]
        text = " ".join(sentences)
        article = Article(id=f"synthetic-{a}", title=f"Synthetic {a}", text=text)
        articles.append(StoredArticle(a, article, f"d{a}", "bench"))
        start = 0
        for sentence in sentences:
            end = start + len(sentence)
            stored.append(
                StoredPassage(
                    len(stored), a, start, end, (Span(start, end),), f"p{len(stored)}", ""
                )
            )
            start = end + 1
    # The postings straight from the drawn word ids (tokenising a million passages would
    # take longer than the rest of the bench); the same terms the text gives.
    rows = np.repeat(np.arange(passages, dtype=np.int64), WORDS_PER_PASSAGE)
    keys, counts = np.unique(draws.ravel().astype(np.int64) * passages + rows, return_counts=True)
    terms, term_rows = keys // passages, keys % passages
    indptr = np.zeros(VOCABULARY + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=VOCABULARY), out=indptr[1:])
    postings = Postings(
        {w: i for i, w in enumerate(words)},
        indptr,
        term_rows.astype(np.int32),
        counts.astype(np.int32),
        np.full(passages, WORDS_PER_PASSAGE, dtype=np.int32),
    )
    vectors = rng.standard_normal((passages, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    quantizer, lists, trained_on, imbalance = None, None, 0, 1.0
    if passages >= approximate_from:
        centroids = VectorIndex.train(vectors)
        quantizer = write_quantizer(data_dir, centroids)
        lists = assign_lists(centroids, vectors)
        trained_on, imbalance = passages, imbalance_of(lists, len(centroids))
    ref = write_segment(data_dir, NewSegment(articles, stored, vectors, postings, lists))
    layout = DataDir(data_dir)
    build = layout.new_build_folder()
    write_state(build, IndexState((ref,), quantizer, trained_on, imbalance))
    settings = load_settings()
    write_manifest(
        build,
        Manifest(
            model=model,
            dimension=DIMENSION,
            passages=passages,
            articles=len(articles),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            source_digest="synthetic",
            passage_plan=asdict(plan_from(settings)),
            versions={},
            files=checksum_folder(build),
            collections={"shared": len(articles)},
        ),
    )
    layout.publish(build)


def _peak_rss_mb() -> float:
    """This process's peak RSS since its exec. Not `ru_maxrss`: Linux carries the parent's
    peak over fork and exec, and the parent held the whole synthetic index."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def export(data_dir: Path) -> None:
    """A child: what a data directory's first build leaves behind, the model's ONNX export in
    its cache, made with torch; prints the RSS the torch model holds, for comparison."""
    from index.encode.embedder import Embedder
    from index.encode.export import cached_export
    from index.store.files import DataFiles

    embedder = Embedder(load_settings().model)
    embedder.encode(["warm up the model"])
    torch_rss = _peak_rss_mb()
    cached_export(embedder, DataFiles(data_dir).query_models)
    print(json.dumps({"torch_rss": torch_rss}))


def worker(data_dir: Path, dataset: Path) -> None:
    """The child: load the worker's passage encoder (the ONNX export, unless
    ARTICLEBOT_ONNX_PASSAGES=false), time encoding the new passages alone, then the update."""
    from index.evaluate import load_dataset
    from index.text.passages import make_passages
    from index.updating import Updater

    settings = replace(load_settings(), data_dir=data_dir)
    plan = plan_from(settings)
    added = load_dataset(dataset).articles[:ADDED]
    embedder = Updater(settings).passage_encoder
    embedder.encode(["warm up the model"])
    model_rss = _peak_rss_mb()
    documents = [
        document_text(p.article.title, passage.text_of(p.article.text), p.article.date)
        for p in added
        for passage in make_passages(
            p.article.id, p.article.text, p.excluded, plan, embedder.count_tokens
        )
    ]
    started = time.perf_counter()
    embedder.encode(documents)
    encode = time.perf_counter() - started
    started = time.perf_counter()
    report = update_index(data_dir, embedder, plan, add=added)
    update = time.perf_counter() - started
    peak = _peak_rss_mb()
    print(
        json.dumps(
            {
                "passages": len(documents),
                "encode": encode,
                "update": update,
                "embedded": report.embedded,
                "model_rss": model_rss,
                "peak_rss": peak,
                "question": added[0].article.title,
            }
        )
    )


def run(size: int, dataset: Path, approximate_from: int, model: str) -> None:
    with tempfile.TemporaryDirectory(prefix="update-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        build_base(data_dir, size, approximate_from, model)
        print(f"{size:,} passages: base index written in {time.perf_counter() - started:.0f} s")
        exported = subprocess.run(
            [sys.executable, "-m", "bench.update_bench", "--export", str(data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        torch_rss = json.loads(exported.stdout.strip().splitlines()[-1])["torch_rss"]
        child = subprocess.run(
            [sys.executable, "-m", "bench.update_bench", "--worker", str(data_dir), str(dataset)],
            capture_output=True,
            text=True,
            check=True,
        )
        got = json.loads(child.stdout.strip().splitlines()[-1])
        aim = 2 * got["encode"] + 2
        vector_mb = size * DIMENSION * 4 / 2**20
        print(
            f"  add {ADDED} articles ({got['passages']} passages): update {got['update']:.2f} s, "
            f"encode alone {got['encode']:.2f} s; update / (2 x encode + 2 s) = "
            f"{got['update'] / aim:.2f}"
        )
        print(
            f"  worker peak RSS {got['peak_rss']:.0f} MB "
            f"(its encoder loaded: {got['model_rss']:.0f} MB; the torch model alone: "
            f"{torch_rss:.0f} MB); "
            f"vector bytes {vector_mb:.0f} MB; peak / (vectors + 500 MB) = "
            f"{got['peak_rss'] / (vector_mb + 500):.2f}"
        )


def no_change_read(dataset: Path) -> None:
    from index.ingest.readers import read_sources
    from index.store.source_cache import SourceCache

    lines = (dataset / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory(prefix="update-bench-read-") as tmp:
        source = Path(tmp) / "news.jsonl"
        out: list[str] = []
        n = written = 0
        while written < 5 * 2**20:
            record = json.loads(lines[n % len(lines)])
            record["id"] = f"{record.get('id')}-{n}"
            out.append(json.dumps(record))
            written += len(out[-1]) + 1
            n += 1
        source.write_text("\n".join(out) + "\n", encoding="utf-8")
        cache = SourceCache(Path(tmp) / "data")
        times = []
        for _ in range(2):
            started = time.perf_counter()
            read_sources([str(source)], max_bytes=10 * 2**20, cache=cache)
            times.append(time.perf_counter() - started)
        size = source.stat().st_size / 2**20
        print(
            f"no-change read of a {size:.1f} MB .jsonl ({n} articles): first {times[0]:.2f} s, "
            f"again {times[1]:.3f} s (ratio {times[1] / times[0]:.3f}; the reader not run)"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--export":
        export(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args()
    if not (args.dataset / "articles.jsonl").is_file():
        raise SystemExit(f"no dataset at {args.dataset}")
    settings = load_settings()
    no_change_read(args.dataset)
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.dataset, settings.approximate_from, settings.model)


if __name__ == "__main__":
    main()
