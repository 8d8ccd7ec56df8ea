"""Questions per second of one answering process against two sharing one index, through
Discord: real `articlebot run` processes against the fake Discord, in one run.

    python -m bench.shard_bench [--dataset ../shared/eval/squad] [--articles 8]
                                [--questions 240] [--in-flight 8]

The index is built once (`articlebot index build`) over the dataset's first articles, in a
data directory both set-ups share. The fake Discord has two shards with a server on each, and
the same questions are asked in both, alternately, up to `--in-flight` at a time, by `/ask`:
- one process: `articlebot run --shards 0-1 --shard-count 2` answers both servers;
- two processes: `--shards 0` and `--shards 1`, one server each, over the same index.
Each set-up is warmed up (every question once per server, unmeasured) before its measured
round. The figures are questions answered per second (from the first `/ask` to the last
answer shown) and the time from `/ask` to the answer, median and 95th percentile; the fake
Discord runs in this process, on the same cores as the bots. Beside them: the CPU the bots
and the fake used during the measured round, in cores, and the machine's load average (other
work competing for the same cores makes every figure smaller).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.build_bench import DEFAULT_DATASET
from tests.discord.fake_discord import FakeChannel, FakeDiscord, FakeUser

ARTICLEBOT = Path(sys.executable).parent / "articlebot"
TOKEN = "bench-bot-token"
START = 180.0
# Embedding the articles and exporting the query model, on a machine others share too.
BUILD = 1200.0
ANSWER = 120.0


@dataclass(frozen=True, slots=True)
class Round:
    processes: int
    questions: int
    seconds: float
    latencies: list[float]
    bot_cpu: float
    fake_cpu: float
    load: float

    @property
    def per_second(self) -> float:
        return self.questions / self.seconds

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return (
            f"{self.processes} process{'es' if self.processes > 1 else ''}: "
            f"{self.per_second:6.1f} questions/s ({self.questions} in {self.seconds:.1f} s), "
            f"/ask to answer p50 {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms; CPU: bots {self.bot_cpu / self.seconds:.2f} cores, "
            f"fake Discord {self.fake_cpu / self.seconds:.2f}; machine load {self.load:.1f}"
        )


def _env(fake: FakeDiscord, sources: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    return env | {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "ARTICLEBOT_SOURCES": str(sources),
        "ARTICLEBOT_ASK_COOLDOWN_SECONDS": "0",
        "ARTICLEBOT_LOG_LEVEL": "WARNING",
    }


async def _articlebot(
    data_dir: Path, env: dict[str, str], *args: str, limit: float = START
) -> None:
    process = await asyncio.create_subprocess_exec(
        ARTICLEBOT, *args, "--data-dir", str(data_dir), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        code = await asyncio.wait_for(process.wait(), limit)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0:
        raise SystemExit(f"articlebot {' '.join(args)} failed")


async def _start(data_dir: Path, env: dict[str, str], log: Path, shards: str) -> Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            ARTICLEBOT,
            "run",
            "--shards",
            shards,
            "--shard-count",
            "2",
            "--data-dir",
            str(data_dir),
            env=env,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


Process = asyncio.subprocess.Process


async def _stop(process: Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), ANSWER)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _ask_all(
    fake: FakeDiscord,
    channels: list[FakeChannel],
    member: FakeUser,
    questions: list[str],
    in_flight: int,
) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []

    async def one(number: int, question: str) -> None:
        async with gate:
            began = time.perf_counter()
            channel = channels[number % len(channels)]
            ix = await fake.invoke_slash(
                "ask", {"question": question}, channel_id=channel.id, user_id=member.id
            )
            message = await ix.wait_for_final(ANSWER)
            if not message.embeds:
                raise SystemExit(f"no answer to {question!r}: {message.content!r}")
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(n, q) for n, q in enumerate(questions)))
    return time.perf_counter() - began, latencies


async def measure(
    data_dir: Path, sources: Path, questions: list[str], in_flight: int, shard_sets: list[str]
) -> Round:
    async with FakeDiscord(token=TOKEN, shards=2, max_concurrency=1) as fake:
        owner, member = fake.add_user("owner"), fake.add_user("member")
        channels = []
        for shard in (0, 1):
            guild = fake.add_guild(f"shard {shard}", owner_id=owner.id, shard=(shard, 2))
            channels.append(fake.add_channel(guild.id, "general"))
            fake.add_member(guild.id, member.id)
        env = _env(fake, sources)
        await _articlebot(data_dir, env, "sync")
        log = data_dir.parent / f"bots-{len(shard_sets)}.log"
        bots = [await _start(data_dir, env, log, shards) for shards in shard_sets]
        try:
            for shard in (0, 1):
                await fake.wait_until_identified(timeout=START, shard_id=shard)
            await _ask_all(fake, channels, member, questions * len(channels), in_flight)
            bots_before, fake_before = sum(map(_cpu_seconds, bots)), time.process_time()
            seconds, latencies = await _ask_all(fake, channels, member, questions, in_flight)
            bot_cpu = sum(map(_cpu_seconds, bots)) - bots_before
            fake_cpu = time.process_time() - fake_before
            # The machine's 1-minute load average: what else competed for the cores.
            load = os.getloadavg()[0]
        finally:
            for bot in bots:
                await _stop(bot)
    return Round(len(shard_sets), len(questions), seconds, latencies, bot_cpu, fake_cpu, load)


def _cpu_seconds(process: Process) -> float:
    """User and system CPU time of a running process, its threads included."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _subset(dataset: Path, articles: int, folder: Path) -> tuple[Path, list[str], int]:
    """The dataset's first articles as a .jsonl source, their questions, their word count."""
    lines = (dataset / "articles.jsonl").read_text(encoding="utf-8").splitlines()[:articles]
    kept = {json.loads(line)["id"] for line in lines}
    words = sum(len(json.loads(line)["text"].split()) for line in lines)
    source = folder / "articles.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    questions = [
        record["question"]
        for record in map(json.loads, (dataset / "questions.jsonl").read_text().splitlines())
        if record["article_id"] in kept
    ]
    return source, questions, words


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shard-bench-") as tmp:
        folder = Path(tmp)
        source, pool, words = _subset(args.dataset, args.articles, folder)
        questions = (pool * (args.questions // max(1, len(pool)) + 1))[: args.questions]
        data_dir = folder / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLEBOT_")}
        began = time.perf_counter()
        await _articlebot(data_dir, env, "index", "build", str(source), limit=BUILD)
        status = json.loads(
            (await _output(data_dir, env, "index", "status", "--json")).decode("utf-8")
        )
        print(
            f"index: {args.articles} articles ({words} words), {status['passages']} passages, "
            f"built in {time.perf_counter() - began:.0f} s; {os.cpu_count()} cores; "
            f"{len(questions)} questions per round, {args.in_flight} in flight"
        )
        one = await measure(data_dir, source, questions, args.in_flight, ["0-1"])
        print(one.line(), flush=True)
        two = await measure(data_dir, source, questions, args.in_flight, ["0", "1"])
        print(two.line())
        print(f"two processes / one: {two.per_second / one.per_second:.2f}x")


async def _output(data_dir: Path, env: dict[str, str], *args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        ARTICLEBOT, *args, "--data-dir", str(data_dir), env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), START)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--articles", type=int, default=8, help="index the first N articles")
    parser.add_argument("--questions", type=int, default=240, help="questions per round")
    parser.add_argument("--in-flight", type=int, default=8, help="questions asked at once")
    args = parser.parse_args()
    if not (args.dataset / "articles.jsonl").is_file():
        raise SystemExit(f"no dataset at {args.dataset}: pass --dataset (e.g. the SQuAD dev set)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
