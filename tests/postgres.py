"""A PostgreSQL server for the tests, and a fresh database on it per test run.

The server is the one at ARTICLEBOT_TEST_DATABASE_URL, else 127.0.0.1:5432 (user postgres,
trust auth: what these machines and CI run). When none answers, a throwaway server is started
from the system's `initdb`/`pg_ctl` in a temporary folder, on a free loopback port, as an
unprivileged user when the tests run as root (PostgreSQL refuses to run as root), and removed
when the run ends. Where neither exists the caller decides: a skip on a developer's machine, a
failure under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Every step of starting or stopping the throwaway server is bounded by this many seconds.
STEP_SECONDS = 60


class NoServerError(RuntimeError):
    """No server answers and none can be started here."""


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.contextmanager
def server(force_throwaway: bool = False) -> Iterator[str]:
    """The URL of a server to create test databases on (its maintenance database)."""
    url = os.environ.get("ARTICLEBOT_TEST_DATABASE_URL", DEFAULT_URL)
    if not force_throwaway and answers(url):
        yield url
        return
    with throwaway_server() as started:
        yield started


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A database of its own for this run, dropped afterwards (its sessions ended first)."""
    name = f"articlebot_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def binaries() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: on PATH, else the newest Debian-style install."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return installed[-1].parent if installed else None


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """A server of its own in a temporary folder, stopped and removed when the block ends."""
    bin_dir = binaries()
    if bin_dir is None:
        raise NoServerError(
            "no PostgreSQL server answers and no initdb/pg_ctl is installed to start one "
            "(apt-get install postgresql, or set ARTICLEBOT_TEST_DATABASE_URL)"
        )
    user = _unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="articlebot-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    sockets.mkdir()
    if user is not None:
        for path in (folder, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = unused_port()
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", str(STEP_SECONDS)]
    started = False
    try:
        _run(
            user,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(user, [*pg_ctl, "-l", str(log), "-o", options, "start"])
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _run(user, [*pg_ctl, "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Whom to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise NoServerError("running as root and no unprivileged user to run PostgreSQL as")


def _run(user: pwd.struct_passwd | None, command: list[str]) -> None:
    ids = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=STEP_SECONDS,
        check=False,
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
        **ids,  # type: ignore[arg-type]
    )
    if result.returncode != 0:
        raise NoServerError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-500:]}")


def unused_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
