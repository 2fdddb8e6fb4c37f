"""Benchmark: viewing-event ingest on SQLite through the SessionWriter (group commit), and a kill -9 mid-run.

Targets (issue #5): at least 5,000 events/s sustained; p99 acknowledgement at most 20 ms; every acknowledged event
present after the run, and after a SIGKILL of the writer process mid-run.

Viewers are asyncio tasks in one event loop, as the gateway's are: each plays sessions one after the other (a start,
``--progress`` progress events, an end) and awaits each event's acknowledgement (``SessionWriter.record``) before it
sends the next. The database is a SQLite file in WAL mode with ``synchronous=FULL`` (the default: an acknowledged
event survives power loss). Two loads:

* saturation: ``--viewers`` viewers send back to back; its events/s is the sustained rate. Its latency is set by the
  queue (viewers / rate, Little's law), so it is shown, not judged.
* paced: ``--paced-viewers`` viewers offer ``--rate`` events/s together (one event each every viewers / rate
  seconds); its p99 is judged. A paced event's latency runs from the time it was due, so a stalled writer cannot
  hide the events it delayed.

Each run freezes the heap that exists before it out of Python's cyclic collector (``gc.freeze()``), as a server
should once it has started: a full collection of the ~130,000 objects that importing the app creates stops every
thread for about 50 ms, which alone decides the p99. The paced run is also shown without the freeze.

The baseline runs the same loads through a writer with ``batch_size=1``: one transaction, one commit and one fsync
per event, the way a writer without group commit would store them. The kill run starts saturation viewers in a
child process, reads the events it acknowledges on stdout, kills it with SIGKILL and checks that each of them is in
the database. Tail latencies move with other work on the machine (fsync and CPU time), so the load average is shown.

    .venv/bin/python bench/sessions.py [--viewers 100] [--paced-viewers 1000] [--rate 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.migrate import upgrade
from m3u_strm.db.models import User, ViewingSession
from m3u_strm.db.types import utcnow
from m3u_strm.playback.sessions import SessionEnd, SessionEvent, SessionProgress, SessionStart, SessionWriter

EVENTS_TARGET = 5_000
P99_TARGET_MS = 20.0
USERS = 50
OVERRUN = 3.0  # seconds a run may go on to catch up with the events that fell due


Acked = Callable[[str, str, int], None]


@dataclass(frozen=True)
class Load:
    label: str
    viewers: int
    seconds: float  # viewers start no session after this
    progress: int  # progress events per session
    interval: float = 0.0  # seconds between one viewer's events; 0: back to back


@dataclass
class Run:
    events: int = 0
    seconds: float = 0.0
    commits: int = 0
    latencies: list[float] = field(default_factory=list)
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> last acknowledged (kind, bytes_sent)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


def session_events(user_id: int, progress: int) -> list[tuple[str, SessionEvent, int]]:
    """One viewing: a start, ``progress`` progress events and an end, with totals (never deltas)."""
    key = uuid.uuid4().hex
    begin = utcnow() - timedelta(hours=2, seconds=random.uniform(0, 3600))
    kind = random.choice(("channel", "channel", "channel", "movie", "episode"))
    events: list[tuple[str, SessionEvent, int]] = [
        ("start", SessionStart(key, user_id, kind, random.randint(1, 5000), begin, "proxy",  # type: ignore[arg-type]
                               title="Channel", client="Kodi/21.0", media_duration_s=5400.0), 0)]  # fmt: skip
    for step in range(1, progress + 1):
        sent = step * 1_500_000
        at = begin + timedelta(seconds=30 * step)
        events.append(("progress", SessionProgress(key, at, bytes_sent=sent, failovers=step // 3), sent))
    sent = (progress + 1) * 1_500_000
    events.append(("end", SessionEnd(key, begin + timedelta(seconds=30 * (progress + 1)), bytes_sent=sent), sent))
    return events


async def viewer(writer: SessionWriter, user_id: int, load: Load, until: float, run: Run, acked: Acked) -> None:
    """Play sessions until ``until``: back to back, or one event every ``load.interval`` seconds.

    A paced viewer's latency runs from the time its event was due, so a stalled writer cannot hide the events it
    delayed (no coordinated omission).
    """
    due = time.perf_counter() + random.uniform(0, load.interval)
    while True:
        for kind, ev, sent in session_events(user_id, load.progress):
            if due >= until or time.perf_counter() > until + OVERRUN:  # a writer that falls behind is cut off
                return
            if load.interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            else:
                due = time.perf_counter()
            await writer.record(ev)
            run.latencies.append(time.perf_counter() - due)
            acked(kind, ev.key, sent)
            due += load.interval


async def drive(writer: SessionWriter, users: list[int], load: Load, run: Run, acked: Acked) -> None:
    until = time.perf_counter() + load.seconds
    await asyncio.gather(*(viewer(writer, users[n % len(users)], load, until, run, acked) for n in range(load.viewers)))


def runner(loop: str) -> Callable[[Coroutine[Any, Any, None]], None]:
    if loop == "uvloop":
        try:
            import uvloop

            return uvloop.run
        except ImportError:
            pass
    return asyncio.run


def database(directory: Path, name: str) -> tuple[str, list[int]]:
    url = f"sqlite:///{directory / name}"
    engine = build_engine(url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        users = [User(username=f"viewer{n}", password_hash="-") for n in range(USERS)]
        session.add_all(users)
        session.flush()
        ids = [user.id for user in users]
    engine.dispose()
    return url, ids


def measure(url: str, users: list[int], load: Load, loop: str, batch_size: int, *, frozen: bool = True) -> Run:
    """One timed run on a fresh writer; ``frozen``: the heap that exists before it is frozen out of the collector."""
    engine = build_engine(url)
    run = Run()
    if frozen:
        gc.collect()
        gc.freeze()

    def counted(_connection: Any) -> None:
        run.commits += 1

    def acked(kind: str, key: str, sent: int) -> None:
        run.acked[key] = (kind, sent)

    event.listen(engine, "commit", counted)
    writer = SessionWriter(engine, Settings(database_url=url), batch_size=batch_size)
    writer.start()
    began = time.perf_counter()
    runner(loop)(drive(writer, users, load, run, acked))
    run.seconds = time.perf_counter() - began
    run.events = len(run.latencies)
    writer.stop()
    engine.dispose()
    gc.unfreeze()
    return run


def missing(url: str, acked: dict[str, tuple[str, int]]) -> int:
    """How many acknowledged events the database does not show."""
    engine = build_engine(url)
    with Session(engine) as session:
        query = select(ViewingSession.key, ViewingSession.ended_at, ViewingSession.bytes_sent)
        rows = {key: (ended, sent) for key, ended, sent in session.execute(query)}
    engine.dispose()
    lost = 0
    for key, (kind, sent) in acked.items():
        row = rows.get(key)
        if row is None or (kind == "end" and (row[0] is None or row[1] != sent)) or row[1] < sent:
            lost += 1
    return lost


def child(url: str, viewers: int, progress: int, loop: str) -> None:
    """The kill run's writer process: prints ``kind key bytes`` for each acknowledged event."""
    engine = build_engine(url)
    with Session(engine) as session:
        users = list(session.scalars(select(User.id)))
    writer = SessionWriter(engine, Settings(database_url=url))
    writer.start()

    def acked(kind: str, key: str, sent: int) -> None:
        sys.stdout.write(f"{kind} {key} {sent}\n")
        sys.stdout.flush()

    runner(loop)(drive(writer, users, Load("child", viewers, 3600, progress), Run(), acked))


def kill_run(url: str, args: argparse.Namespace) -> tuple[int, int]:
    """Kill a writer process mid-run; returns (events it acknowledged, of those not in the database)."""
    command = [sys.executable, __file__, "--child", url, "--viewers", str(args.viewers), "--progress",
               str(args.progress), "--loop", args.loop]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    until = time.monotonic() + args.kill_after
    while time.monotonic() < until:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    lines += process.stdout.read().splitlines()
    acked: dict[str, tuple[str, int]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            acked[parts[1]] = (parts[0], int(parts[2]))
    return len(lines), missing(url, acked)


def report(label: str, run: Run) -> None:
    print(f"  {label:<32} {run.rate:9,.0f} events/s   p50 {run.percentile(0.5):7.2f} ms   "
          f"p99 {run.percentile(0.99):7.2f} ms   {run.events / max(run.commits, 1):6.1f} events/commit")  # fmt: skip


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=100, help="viewers sending back to back (saturation)")
    parser.add_argument("--paced-viewers", type=int, default=1000, help="viewers sharing the paced rate")
    parser.add_argument("--rate", type=float, default=EVENTS_TARGET, help="offered events/s of the paced run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    parser.add_argument("--progress", type=int, default=4, help="progress events per session")
    parser.add_argument("--kill-after", type=float, default=3.0, help="seconds before the kill run's SIGKILL")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.viewers, args.progress, args.loop)
        return
    interval = args.paced_viewers / args.rate
    saturation = Load("saturation", args.viewers, args.seconds, args.progress)
    paced = Load("paced", args.paced_viewers, args.seconds, args.progress, interval)
    plan = {  # name: (load, batch size, heap frozen)
        "saturation": (saturation, 1000, True),
        "saturation baseline": (saturation, 1, True),
        "paced": (paced, 1000, True),
        "paced baseline": (paced, 1, True),
        "paced unfrozen": (paced, 1000, False),
    }
    load_before = os.getloadavg()[0]  # other work on the machine shows in the tail latencies
    results: dict[str, Run] = {}
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (load, batch_size, frozen) in plan.items():
            url, users = database(Path(tmp), f"{name.replace(' ', '-')}.db")
            results[name] = run = measure(url, users, load, args.loop, batch_size, frozen=frozen)
            lost += missing(url, run.acked)
        kill_url, _ = database(Path(tmp), "kill.db")
        killed_events, killed_lost = kill_run(kill_url, args)
    print(f"viewing-event ingest: SQLite WAL synchronous=FULL, start + {args.progress} progress + end per session, "
          f"{args.seconds:g} s per run, loop {args.loop}, {os.cpu_count()} CPUs, load average before the runs "
          f"{load_before:.2f}")  # fmt: skip
    print(f"saturation: {args.viewers} viewers sending back to back (latency = viewers / rate)")
    report("SessionWriter (group commit)", results["saturation"])
    report("baseline: one commit per event", results["saturation baseline"])
    rate = results["saturation"].rate
    print(f"  group commit / baseline          {rate / results['saturation baseline'].rate:9.1f}x events/s")
    print(f"paced: {args.paced_viewers} viewers offering {args.rate:,.0f} events/s together (latency from due time)")
    report("SessionWriter (group commit)", results["paced"])
    report("baseline: one commit per event", results["paced baseline"])
    report("group commit, heap not frozen", results["paced unfrozen"])
    p99 = results["paced"].percentile(0.99)
    print(f"  baseline / group commit p99      {results['paced baseline'].percentile(0.99) / p99:9.1f}x")
    rate_ok, p99_ok = rate >= EVENTS_TARGET, p99 <= P99_TARGET_MS and results["paced"].rate >= 0.98 * args.rate
    kill_ok = killed_lost == 0 and killed_events > 0
    sessions = sum(len(run.acked) for run in results.values())
    print(f"sustained >= {EVENTS_TARGET:,} events/s (saturation): {verdict(rate_ok)} ({rate:,.0f})")
    print(f"p99 acknowledgement <= {P99_TARGET_MS:g} ms at {args.rate:,.0f} events/s: {verdict(p99_ok)} "
          f"({p99:.2f} ms, {results['paced'].rate:,.0f} events/s kept)")  # fmt: skip
    print(f"every acknowledged event stored: {verdict(lost == 0)} ({sessions:,} sessions, {lost} missing)")
    print(f"after SIGKILL mid-run: {verdict(kill_ok)} ({killed_events:,} acknowledged events, {killed_lost} missing)")
    if not (rate_ok and p99_ok and lost == 0 and kill_ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
