"""`articlebot`: the command line, the machine-readable face of the engine."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from config import Settings, SettingsError, load_settings
from index.errors import ArticlebotError
from index.models import SHARED_COLLECTION, Progress

log = logging.getLogger("articlebot")

# Exit codes, the same for every command (README, "Exit codes").
EXIT_OK = 0
EXIT_ERROR = 1  # bad input (a missing file, no index, a bad batch line) or a failure
EXIT_USAGE = 2  # bad options or settings; argparse exits 2 too
EXIT_NO_MATCH = 3  # `ask`/`search`: nothing in the collection answers
# Who the command line's watches belong to, and how often `watch matches --follow` looks.
CLI_OWNER = "cli"
WATCH_FOLLOW_SECONDS = 5.0


def _version() -> str:
    try:
        return version("articlebot")
    except PackageNotFoundError:
        return "(not installed as a package)"


def _filter_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("filters (dates: 2024-07-21, 2024-07, 2024, yesterday, ...)")
    group.add_argument("--since", help="only articles from this date or period on")
    group.add_argument("--until", help="only articles up to this date or period (included)")
    group.add_argument(
        "--outlet", action="append", default=[], help="only this outlet (repeatable; any case)"
    )
    group.add_argument(
        "--sort", choices=("relevance", "newest"), default="relevance", help="order of the hits"
    )
    group.add_argument(
        "--as-of",
        dest="as_of",
        help="answer as of this date: time words count from it, later articles are left out",
    )
    return options


def _parser() -> argparse.ArgumentParser:
    filters = _filter_options()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index folder (default ./data)")
    common.add_argument("--model", help="sentence-transformers model name or path")

    parser = argparse.ArgumentParser(
        prog="articlebot",
        description="Answer questions about articles by quoting the passages that answer them.",
    )
    parser.add_argument("--version", action="version", version=f"articlebot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", required=True)
    build = index_sub.add_parser("build", parents=[common], help="(re)index articles")
    build.add_argument(
        "sources", nargs="*", help="folders, .jsonl files or URLs (default: settings, seeds/)"
    )
    status = index_sub.add_parser("status", parents=[common], help="what the index holds")
    status.add_argument("--json", action="store_true", help="one JSON object")
    merge = index_sub.add_parser(
        "merge", parents=[common], help="merge index segments now (the merge policy, or --all)"
    )
    merge.add_argument(
        "--all", action="store_true", help="merge every segment into one, deletions left out"
    )
    merge.add_argument("--json", action="store_true", help="one JSON object")

    search = sub.add_parser("search", parents=[common, filters], help="JSON results for questions")
    search.add_argument("question", nargs="?")
    search.add_argument("-k", type=_results, default=None, help="results per question (1-10)")
    search.add_argument("--json", action="store_true", help="JSON output (always on with --batch)")
    search.add_argument(
        "--batch",
        metavar="FILE",
        help="JSON lines {id, question} (each may add as_of, since, until, outlet); - reads stdin",
    )
    search.add_argument(
        "--no-threshold", action="store_true", help="return results even below the match threshold"
    )

    ask = sub.add_parser("ask", parents=[common, filters], help="answer one question, for people")
    ask.add_argument("question")
    ask.add_argument("-k", type=_results, default=None, help="results (1-10)")

    sub.add_parser("chat", parents=[common], help="terminal chat over the index")

    ev = sub.add_parser("eval", parents=[common], help="retrieval quality on a question set")
    ev.add_argument("dataset", type=Path)
    ev.add_argument("--compare", action="store_true", help="also dense-only and lexical-only")
    ev.add_argument("--no-match", action="store_true", help="split-half decline check")
    ev.add_argument("--limit", type=_positive, default=None, help="use only the first N questions")
    ev.add_argument(
        "--sample",
        type=_positive,
        default=None,
        help="use N questions spread evenly over the set (all its articles stay indexed)",
    )
    ev.add_argument(
        "--articles",
        type=_positive,
        default=None,
        help="index only the first N articles (and ask their questions)",
    )

    fb = sub.add_parser(
        "feedback", parents=[common], help="down-voted passages and unanswered questions"
    )
    fb.add_argument("--json", action="store_true", help="JSON output")
    fb.add_argument("--scope", help="one server's scope, e.g. guild:123 (default: all)")
    fb.add_argument("--clear", metavar="PASSAGE_ID", help="forget the votes on a passage")

    sub.add_parser(
        "start",
        parents=[common],
        help="the worker, and the Discord bot when DISCORD_TOKEN is set, else the chat",
    )
    sub.add_parser(
        "worker",
        parents=[common],
        help="run the updates: jobs from the bot, feed polls, builds (started by `start`)",
    )
    feeds = sub.add_parser("feeds", help="follow news feeds")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--collection",
        default=None,
        help="collection (default: the shared one; a server's is guild:<id>)",
    )
    feed_add = feeds_sub.add_parser("add", parents=[common, where], help="follow a feed")
    feed_add.add_argument("url", help="a feed, or a site page that links to one")
    feed_add.add_argument("--channel", type=int, default=None, help="Discord channel for headlines")
    feed_remove = feeds_sub.add_parser(
        "remove", parents=[common, where], help="stop following a feed, drop its articles"
    )
    feed_remove.add_argument("feed", help="its URL, or its id from `feeds list`")
    feed_list = feeds_sub.add_parser("list", parents=[common, where], help="followed feeds")
    feed_list.add_argument("--json", action="store_true", help="JSON lines")
    feed_poll = feeds_sub.add_parser(
        "poll", parents=[common, where], help="poll every due feed once (for cron)"
    )
    feed_poll.add_argument("--force", action="store_true", help="poll every feed, due or not")

    watch = sub.add_parser("watch", help="questions answered when a new article does")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    watch_add = watch_sub.add_parser(
        "add", parents=[common], help="watch a question in the shared collection (or renew it)"
    )
    watch_add.add_argument("question")
    watch_add.add_argument(
        "--outlet", action="append", default=[], help="only this outlet (repeatable; any case)"
    )
    watch_add.add_argument("--since", help="only articles from this date or period on")
    watch_list = watch_sub.add_parser("list", parents=[common], help="the watched questions")
    watch_list.add_argument("--json", action="store_true", help="JSON lines")
    watch_remove = watch_sub.add_parser("remove", parents=[common], help="stop watching one")
    watch_remove.add_argument("id", type=int, help="its number from `watch list`")
    watch_matches = watch_sub.add_parser(
        "matches",
        parents=[common],
        help="match what arrived since the last time, print new matches as JSON lines",
    )
    watch_matches.add_argument(
        "--follow", action="store_true", help="keep printing matches as they come (Ctrl-C ends)"
    )

    db = sub.add_parser("db", help="the PostgreSQL state (ARTICLEBOT_DATABASE_URL)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "upgrade", parents=[common], help="create or upgrade the schema (safe to run again)"
    )

    run = sub.add_parser("run", parents=[common], help="run the Discord bot")
    run.add_argument(
        "--shards",
        metavar="IDS",
        help="run only these shards, e.g. 0-3 or 0,2,5 (with --shard-count; default: all)",
    )
    run.add_argument(
        "--shard-count",
        dest="shard_count",
        type=_positive,
        default=None,
        help="the total number of shards across every bot process (default: unsharded)",
    )
    sync = sub.add_parser("sync", parents=[common], help="register slash commands with Discord")
    sync.add_argument("--guild", type=_positive, default=None, help="one server only (instant)")
    sync.add_argument("--clear", action="store_true", help="remove the commands instead")
    return parser


@contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A tqdm bar per build stage on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="", leave=False)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


def _check_data_dir(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise ArticlebotError(f"{data_dir}: not a folder; --data-dir names the index folder")


def _engine(settings: Settings, need_index: bool = False) -> Any:
    from index.engine import Engine

    _check_data_dir(settings.data_dir)
    if need_index:
        # Fail before the model loads (seconds) when there is nothing to search.
        Engine.require_index(settings)
    return Engine(settings)


def _whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None


def _results(value: str) -> int:
    k = _whole_number(value)
    if not 1 <= k <= 10:
        raise argparse.ArgumentTypeError(f"{k} is not between 1 and 10")
    return k


def _positive(value: str) -> int:
    """A count or id: 0 would read as "all" or "none", so it is refused, not guessed."""
    n = _whole_number(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not 1 or more")
    return n


def _cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import render_build

    engine = _engine(settings)
    with _progress_bar() as progress:
        report = engine.rebuild(args.sources or None, progress)
    print(render_build(report))
    return EXIT_OK if report.articles else EXIT_ERROR


def _cmd_merge(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import render_merge

    engine = _engine(settings, need_index=True)
    with _progress_bar() as progress:
        report = engine.merge(everything=args.all, progress=progress)
    if args.json:
        generation = report.generation.name if report.generation else None
        print(json.dumps({**asdict(report), "generation": generation}))
    else:
        print(render_merge(report))
    return EXIT_OK


def _cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from index.engine import Engine

    _check_data_dir(settings.data_dir)
    status = Engine.status_of(settings)
    if args.json:
        print(json.dumps({**asdict(status), "data_dir": str(status.data_dir)}))
        return EXIT_OK
    print(f"Index in {status.data_dir} ({status.generation})")
    print(f"  model:    {status.model}")
    print(f"  articles: {status.articles}  passages: {status.passages}")
    print(f"  built:    {status.built_at}")
    for name, count in sorted(status.collections.items()):
        print(f"  collection {name}: {count} articles")
    return EXIT_OK


@contextmanager
def _opened_batch(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    with Path(name).open("rb") as stream:
        yield stream


def _filters(args: argparse.Namespace, record: dict[str, Any] | None = None) -> Any:
    """The question's filters: the command line's, overridden by a batch line's own fields."""
    from index.engine import search_filters

    record = record or {}
    outlets = record.get("outlet", args.outlet)
    return search_filters(
        since=record.get("since", args.since),
        until=record.get("until", args.until),
        outlets=[outlets] if isinstance(outlets, str) else [str(o) for o in outlets or ()],
        sort=args.sort,
        as_of=record.get("as_of", args.as_of),
    )


def _cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_json import json_line, result_json

    if args.batch is not None:
        # The file is opened before the model loads: a wrong path fails in a moment.
        with _opened_batch(args.batch) as stream:
            return _search_batch(settings, args, stream)
    filters = _filters(args)
    searcher = _engine(settings, need_index=True).searcher()
    result = searcher.search(
        args.question,
        args.k or settings.top_k,
        apply_threshold=not args.no_threshold,
        filters=filters,
    )
    if args.json:
        print(json_line(result_json(None, result)))
    else:
        from bot.render_text import render_result

        print(render_result(result, ansi=sys.stdout.isatty()))
    return EXIT_OK if result.matched else EXIT_NO_MATCH


def _search_batch(settings: Settings, args: argparse.Namespace, stream: IO[bytes]) -> int:
    """One JSON line per question line, in order; a bad line gets `{"id", "error"}` and the
    batch goes on. Exit 1 if any line was bad, else 3 if no question matched."""
    from bot.batch import BatchError, read_batch
    from bot.render_json import error_json, json_line, result_json
    from index.errors import InputError

    searcher = _engine(settings, need_index=True).searcher()
    k = args.k or settings.top_k
    asked = matched = errors = 0
    for item in read_batch(stream):
        if not isinstance(item, BatchError):
            try:
                filters = _filters(args, item.record)
            except InputError as exc:
                item = BatchError(item.id, f"line {item.line}: {exc}")
        if isinstance(item, BatchError):
            errors += 1
            record = error_json(item.id, item.error)
        else:
            result = searcher.search(
                item.question, k, apply_threshold=not args.no_threshold, filters=filters
            )
            asked += 1
            matched += result.matched
            record = result_json(item.id, result)
        print(json_line(record), flush=True)
    if errors:
        return EXIT_ERROR
    return EXIT_NO_MATCH if asked and not matched else EXIT_OK


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import render_result

    filters = _filters(args)
    engine = _engine(settings, need_index=True)
    result = engine.ask(args.question, args.k, filters=filters)
    print(render_result(result, ansi=sys.stdout.isatty()))
    return EXIT_OK if result.matched else EXIT_NO_MATCH


def _cmd_chat(settings: Settings) -> int:
    from bot.chat import chat
    from index.engine import ensure_index

    engine = _engine(settings)
    with _progress_bar() as progress:
        ensure_index(engine, progress)
    return chat(engine, sys.stdin, sys.stdout)


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.eval_report import run_eval

    return run_eval(
        settings,
        args.dataset,
        args.compare,
        args.no_match,
        args.limit,
        args.articles,
        args.sample,
    )


def _cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bot.render_text import render_feedback
    from index.engine import FeedbackDesk

    desk = FeedbackDesk.open(settings)
    if args.clear is not None:
        if args.scope is None:
            raise ArticlebotError("--clear needs --scope: votes are kept per server")
        removed = desk.clear(args.scope, args.clear)
        print(f"Cleared {removed} vote(s) on {args.clear} in {args.scope}.")
        return 0
    scopes = [args.scope] if args.scope is not None else desk.scopes()
    for scope in scopes:
        report = desk.report(scope)
        print(
            json.dumps(asdict(report), ensure_ascii=False) if args.json else render_feedback(report)
        )
    if not scopes and not args.json:
        print("No votes and no unanswered questions yet.")
    return 0


def _cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import feed_line, render_build, render_poll

    engine = _engine(settings)
    collection = args.collection or SHARED_COLLECTION
    if args.feeds_command == "add":
        info = engine.add_feed(collection, args.url, args.channel)
        print(f"Following {info.title or info.url}; its entries come in at the next poll.")
        print(feed_line(info))
        return 0
    if args.feeds_command == "remove":
        with _progress_bar() as progress:
            info, build = engine.unfollow_and_index(collection, args.feed, progress)
        print(f"Stopped following {info.title or info.url}.")
        if build is not None:
            print(render_build(build))
        return 0
    if args.feeds_command == "list":
        feeds = engine.list_feeds(args.collection)
        if args.json:
            for info in feeds:
                print(json.dumps(dataclasses.asdict(info), ensure_ascii=False))
        elif not feeds:
            print("No feeds are followed.")
        else:
            print("\n".join(feed_line(info) for info in feeds))
        return 0
    report = engine.poll_feeds(args.collection, force=args.force)
    print(render_poll(report))
    return 1 if any(r.error for r in report.feeds) else 0


def _cmd_watch(settings: Settings, args: argparse.Namespace) -> int:
    from bot.render_text import watch_line
    from index.engine import WatchPlace, WatchTarget, result_json

    engine = _engine(settings)
    desk = engine.watches
    if args.watch_command == "add":
        place = WatchPlace(SHARED_COLLECTION, CLI_OWNER, WatchTarget.CLI)
        added = desk.add(args.question, place, outlets=args.outlet, since=args.since)
        verb = "Renewed" if added.renewed else "Watching"
        print(f"{verb}: {watch_line(added.watch)}")
        return EXIT_OK
    if args.watch_command == "list":
        watches = desk.watches(owner=CLI_OWNER)
        if args.json:
            for w in watches:
                print(json.dumps(_watch_json(w), ensure_ascii=False))
        elif not watches:
            print("No question is watched.")
        else:
            print("\n".join(watch_line(w) for w in watches))
        return EXIT_OK
    if args.watch_command == "remove":
        removed = desk.remove(args.id, owner=None)
        print(f"No longer watching: {watch_line(removed)}")
        return EXIT_OK
    while True:
        engine.match_watches()
        for post in desk.posts((WatchTarget.CLI,), limit=1000):
            record = {"watch": post.watch.id, "created_at": post.created_at}
            print(json.dumps(record | result_json(post.result), ensure_ascii=False), flush=True)
            desk.mark_posted(post.id)
        if not args.follow:
            return EXIT_OK
        time.sleep(WATCH_FOLLOW_SECONDS)


def _watch_json(watch: Any) -> dict[str, Any]:
    fields = dataclasses.asdict(watch)
    del fields["vector"]
    return fields


def _cmd_db(settings: Settings) -> int:
    from index.engine import upgrade_database

    if settings.database_url is None:
        raise ArticlebotError(
            "ARTICLEBOT_DATABASE_URL is not set: the state is in SQLite files in the data "
            "directory, which need no upgrade."
        )
    applied = upgrade_database(settings)
    for name in applied:
        print(f"applied {name}")
    print("The database schema is up to date." if applied else "Nothing to do: already current.")
    return EXIT_OK


def _cmd_start(settings: Settings) -> int:
    from bot.supervisor import start
    from index.engine import upgrade_database

    _check_data_dir(settings.data_dir)
    # A first start on an empty database creates the schema; the bot alone (`run`) never
    # changes it and refuses a database that is behind.
    upgrade_database(settings)
    if settings.discord_token:
        return start(settings, lambda: _cmd_run(settings))
    print("DISCORD_TOKEN is not set: starting the terminal chat instead of the Discord bot.")
    return start(settings, lambda: _light_chat(settings))


def _light_chat(settings: Settings) -> int:
    """The chat beside a worker: the query side only, which follows the worker's builds."""
    from bot.chat import chat
    from index.engine import AnsweringEngine

    return chat(AnsweringEngine(settings), sys.stdin, sys.stdout)


def _cmd_worker(settings: Settings) -> int:
    import signal

    from index.engine import upgrade_database
    from index.worker import Worker

    _check_data_dir(settings.data_dir)
    upgrade_database(settings)
    worker = Worker(settings)

    def stop(signum: int, frame: object) -> None:
        log.info("stopping: the current job is finished or handed back")
        worker.stop.set()
        # A second signal ends the process at once; the job's lease then runs out.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        worker.run()
    finally:
        worker.updater.stores.close()
    return EXIT_OK


def _cmd_run(settings: Settings) -> int:
    from bot.discord_app.main import run_bot

    return run_bot(settings)


def _cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from bot.discord_app.main import sync_commands

    return sync_commands(settings, args.guild, args.clear)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "search" and (args.batch is None) == (args.question is None):
        parser.error("search takes a QUESTION or --batch FILE, one of the two")
    try:
        settings = load_settings(
            data_dir=args.data_dir,
            model=args.model,
            shards=getattr(args, "shards", None),
            shard_count=getattr(args, "shard_count", None),
        )
    except SettingsError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from bot.logs import setup_logging

    setup_logging(settings.log_level, [settings.discord_token or ""])
    try:
        if args.command == "index":
            if args.index_command == "build":
                return _cmd_build(settings, args)
            if args.index_command == "merge":
                return _cmd_merge(settings, args)
            return _cmd_status(settings, args)
        handlers = {
            "search": lambda: _cmd_search(settings, args),
            "ask": lambda: _cmd_ask(settings, args),
            "chat": lambda: _cmd_chat(settings),
            "eval": lambda: _cmd_eval(settings, args),
            "start": lambda: _cmd_start(settings),
            "run": lambda: _cmd_run(settings),
            "worker": lambda: _cmd_worker(settings),
            "sync": lambda: _cmd_sync(settings, args),
            "feedback": lambda: _cmd_feedback(settings, args),
            "feeds": lambda: _cmd_feeds(settings, args),
            "watch": lambda: _cmd_watch(settings, args),
            "db": lambda: _cmd_db(settings),
        }
        return handlers[args.command]()
    except ArticlebotError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        # A path the user gave (a batch file, a data dir that is a file, a dataset folder)
        # that cannot be read or written: one line naming it; the traceback only at DEBUG.
        log.debug("I/O error", exc_info=True)
        print(f"articlebot: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _describe(exc: OSError) -> str:
    if exc.filename is None:
        return exc.strerror or str(exc)
    return f"{exc.filename}: {exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
