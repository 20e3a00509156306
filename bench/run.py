"""One command, one run: bare aiosmtpd and smartbcc under the same load, judged against the targets.

    python -m bench.run                      # the full benchmark (about 5-10 minutes), writes bench/RESULTS.md
    python -m bench.run --scale-check        # also 1,000 vs 1,000,000 contacts
    python -m bench.run --quick --output /tmp/r.md          # seconds: keeps the benchmark working

Both servers run side by side in subprocesses of their own; for each size the bare server takes its
load, then smartbcc takes the same. See bench/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):     # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import databases, reference
from bench.load import run_mixed, run_phase
from bench.machine import CpuMeter, describe, wait_quiet
from bench.mail import SIZES, MessageFactory
from bench.profile import Sampler, summarize
from bench.report import Durability, Measured, Report, ScalePoint, render, to_json
from bench.seed import Population, seed, stored_message_ids
from bench.servers import ServerProcess, start_bare, start_floor, start_smartbcc

DEFAULT_MESSAGES = {"10k": 4000, "1m": 300, "20m": 5}
QUICK_MESSAGES = {"10k": 20, "1m": 2, "20m": 1}


def _messages(text: str | None, sizes: list[str], quick: bool) -> dict[str, int]:
    counts = dict(QUICK_MESSAGES if quick else DEFAULT_MESSAGES)
    if text and "=" not in text:
        counts = {name: int(text) for name in SIZES}
    elif text:
        counts.update({k.strip(): int(v) for k, v in (item.split("=") for item in text.split(","))})
    return {name: counts[name] for name in sizes}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--messages", help="per size: N for every size, or 10k=4000,1m=300,20m=5 (the default)")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent sessions (default 8)")
    p.add_argument("--big-concurrency", type=int, default=1, help="sessions for 20m messages (default 1)")
    p.add_argument("--sizes", default="10k,1m,20m", help=f"comma-separated, of {', '.join(SIZES)}")
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--deals", type=int, default=20_000, help="open deals, on random contacts")
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--warmup", type=int, default=50, help="unmeasured 10k messages per server first")
    p.add_argument("--mixed-seconds", type=float, default=20.0, help="length of the mixed-load test")
    p.add_argument("--scale-check", action="store_true", help="also compare --scale-contacts")
    p.add_argument("--scale-contacts", default="1000,1000000")
    p.add_argument("--scale-messages", type=int, default=2000, help="10k messages per scale point")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    p.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    p.add_argument("--database-url", default="", help="a PostgreSQL server (fresh databases are made "
                   "on it and dropped); default: SQLite files in a temp folder")
    p.add_argument("--log-level", default="INFO", help="smartbcc's log level (its log stays in the work folder)")
    p.add_argument("--profile", metavar="DIR", help="py-spy smartbcc's phases into DIR (slows it down)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="first wait up to SECONDS for other processes to leave the CPU idle")
    p.add_argument("--keep", action="store_true", help="keep the work folder (databases, server logs)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = "10k,1m" if args.sizes == "10k,1m,20m" else args.sizes
        args.contacts, args.deals, args.users = min(args.contacts, 300), min(args.deals, 60), min(args.users, 5)
        args.warmup, args.mixed_seconds = min(args.warmup, 3), min(args.mixed_seconds, 1.5)
        args.scale_contacts, args.scale_messages = "100,1000", min(args.scale_messages, 20)
    args.size_names = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.size_names if s not in SIZES]
    if unknown:
        p.error(f"unknown size {unknown}: use {', '.join(SIZES)}")
    args.counts = _messages(args.messages, args.size_names, args.quick)
    return args


async def _warmup(server: ServerProcess, factory: MessageFactory, count: int, ids: set[str]) -> None:
    phase = await run_phase("warmup", "127.0.0.1", server.port, factory.make, SIZES["10k"], count, 4)
    # and one 1 MB message: smartbcc starts its parsing process for the first large message, and
    # that start-up (an interpreter) is not the growth a message causes
    big = await run_phase("warmup", "127.0.0.1", server.port, factory.make, SIZES["1m"], 1, 1)
    ids.update(o.message_id for o in [*phase.accepted, *big.accepted])
    if phase.errors or big.errors:
        raise SystemExit(f"{server.name} refused the warm-up: {(phase if phase.errors else big).error_summary()}"
                         f"\n{server.log_tail()}")


async def _measure(server: ServerProcess, label: str, factory: MessageFactory, size_name: str, count: int,
                   concurrency: int, profile: Path | None = None) -> Measured:
    sampler = Sampler(server.pid, profile / f"{size_name}.raw.txt") if profile else None
    server.begin_phase()
    meter = CpuMeter(server.pid)
    phase = await run_phase(size_name, "127.0.0.1", server.port, factory.make, SIZES[size_name], count, concurrency)
    cpu, memory = meter.stop(), server.end_phase()
    if sampler:
        sampler.stop(len(phase.accepted))
    m = Measured(label, size_name, phase, memory, cpu)
    print(f"  {size_name:>4} {label:<8} {phase.messages_per_second:8.1f} msg/s {phase.megabytes_per_second:7.2f} MB/s"
          f"  p50 {phase.percentile(.5) * 1000:7.1f} ms  p99 {phase.percentile(.99) * 1000:7.1f} ms"
          f"  errors {len(phase.errors)}  CPU client/server/other {cpu.client}/{cpu.server}/{cpu.other}%"
          f"  RSS +{memory.growth / 2**20:.1f} MiB" + (f"  [{phase.error_summary()}]" if phase.errors else ""),
          flush=True)
    return m


def _with_floor(args: argparse.Namespace) -> bool:
    """The floor (bench/floor_server.py) takes the 10k load beside the others, on SQLite runs."""
    return "10k" in args.size_names and not args.database_url


def _floor_kept(work: Path, accepted: set[str]) -> str:
    """The floor's own durability: the Message-IDs it gave a 250 (warm-up included) against its rows."""
    with sqlite3.connect(work / "floor.db") as connection:
        stored = {row[0] for row in connection.execute("SELECT message_id FROM messages")}
    return (f"floor: {len(accepted):,} messages got a 250 (warm-up included), {len(accepted - stored):,} of "
            f"them missing from its database")


async def _durability(database: databases.BenchDatabase, accepted: set[str], where: str) -> Durability:
    filed, quarantined = await stored_message_ids(database.settings)
    stored = set(filed) | set(quarantined)
    return Durability(where, len(accepted), len(stored), len(accepted - stored), len(stored - accepted),
                      len(quarantined))


async def _mixed(args: argparse.Namespace, report: Report, bare: ServerProcess, smart: ServerProcess,
                 factory: MessageFactory, big: str) -> set[str]:
    """10k messages over 4 sessions while 2 sessions loop ``big`` ones; returns smartbcc's accepted ids."""
    ids: set[str] = set()
    for label, server in (("bare", bare), ("smartbcc", smart)):
        small, large = await run_mixed("127.0.0.1", server.port, factory, SIZES["10k"], SIZES[big],
                                       args.mixed_seconds, 4, 2)
        report.mixed[label] = (small, large)
        if label == "smartbcc":
            ids.update(o.message_id for o in small.accepted + large.accepted)
        print(f"  mixed {label:<8} 10k p99 {small.percentile(.99) * 1000:.1f} ms over {len(small.accepted)} "
              f"messages while {len(large.accepted)} x {big} arrived; errors {len(small.errors) + len(large.errors)}",
              flush=True)
    return ids


def _log_notes(report: Report, server: ServerProcess, where: str) -> None:
    problems = server.log_problems()
    report.notes.append(f"smartbcc log, {where}: " + ("; ".join(problems) if problems else "no warnings or errors"))


async def main_run(args: argparse.Namespace, work: Path, report: Report) -> None:
    population = Population(args.users, args.contacts, args.deals)
    database = await databases.fresh(args.database_url, work, "main", args.log_level)
    seeded = await seed(database.settings, population)
    print(f"seeded {population.contacts:,} contacts, {population.orgs:,} organizations, {population.deals:,} "
          f"open deals, {population.users} users in {seeded.seconds:.1f} s ({database.label})", flush=True)
    report.notes.append(f"main database seeded in {seeded.seconds:.1f} s")
    bare = start_bare(work, database.settings.max_message_size)
    smart = start_smartbcc(work, database.settings)
    floor = start_floor(work, database.settings.max_message_size) if _with_floor(args) else None
    ids: set[str] = set()
    floor_ids: set[str] = set()
    accepted = {"smartbcc": ids, "floor": floor_ids}    # each looked up in its database afterwards
    factory = MessageFactory(population, seeded.company_address, secrets.token_hex(3))
    profile = Path(args.profile) if args.profile else None
    try:
        await _warmup(bare, factory, args.warmup, set())
        await _warmup(smart, factory, args.warmup, ids)
        if floor:
            await _warmup(floor, factory, args.warmup, floor_ids)
        for size_name in args.size_names:
            sessions = args.big_concurrency if size_name == "20m" else args.concurrency
            servers = [("bare", bare), ("floor", floor), ("smartbcc", smart)] if size_name == "10k" and floor \
                else [("bare", bare), ("smartbcc", smart)]
            for label, server in servers:
                m = await _measure(server, label, factory, size_name, args.counts[size_name], sessions,
                                   profile if label == "smartbcc" else None)
                report.measured.append(m)
                if label in accepted:
                    accepted[label].update(o.message_id for o in m.phase.accepted)
        big = [s for s in args.size_names if s != "10k"]
        if "10k" in args.size_names and big:
            ids.update(await _mixed(args, report, bare, smart, factory, big[-1]))
        if not args.quick and "10k" in args.size_names:
            report.references += await reference.client_vs_sink(work, factory, SIZES["10k"], 3000, args.concurrency)
            report.references += reference.source_vs_server(bare.port, SIZES["10k"], 3000, args.concurrency,
                                                            population.user_email(0), seeded.company_address)
    finally:
        bare.stop()
        smart.stop()
        if floor:
            floor.stop()
    _log_notes(report, smart, "main run")
    if floor:
        report.notes.append(_floor_kept(work, floor_ids))
    report.notes.append(f"peak RSS: bare {bare.peak / 2**20:.1f} MiB (baseline {bare.baseline_rss / 2**20:.1f}), "
                        f"smartbcc {smart.peak / 2**20:.1f} MiB (baseline {smart.baseline_rss / 2**20:.1f})")
    report.durability.append(await _durability(database, ids, f"main, {population.contacts:,} contacts"))
    await databases.drop(database)


async def scale_run(args: argparse.Namespace, work: Path, report: Report) -> None:
    for contacts in [int(c) for c in args.scale_contacts.split(",")]:
        deals = contacts * args.deals // max(1, args.contacts)
        population = Population(args.users, contacts, deals)
        database = await databases.fresh(args.database_url, work, f"scale{contacts}", args.log_level)
        seeded = await seed(database.settings, population)
        print(f"scale: seeded {contacts:,} contacts and {deals:,} open deals in {seeded.seconds:.1f} s", flush=True)
        server = start_smartbcc(work, database.settings, f"smartbcc-scale{contacts}.log")
        ids: set[str] = set()
        factory = MessageFactory(population, seeded.company_address, secrets.token_hex(3))
        try:
            await _warmup(server, factory, args.warmup, ids)
            m = await _measure(server, "smartbcc", factory, "10k", args.scale_messages, args.concurrency)
            ids.update(o.message_id for o in m.phase.accepted)
        finally:
            server.stop()
        _log_notes(report, server, f"scale check, {contacts:,} contacts")
        durability = await _durability(database, ids, f"scale, {contacts:,} contacts")
        report.scale.append(ScalePoint(contacts, seeded.seconds, m.phase, durability))
        await databases.drop(database)


def _parameters(args: argparse.Namespace) -> dict[str, str]:
    return {
        "database": "PostgreSQL (fresh databases on --database-url)" if args.database_url else
                    "SQLite (WAL, synchronous=FULL) in a temp folder",
        "population": f"1 company, {args.users} users, {args.contacts:,} contacts "
                      f"({max(1, args.contacts // 10):,} organizations), {args.deals:,} open deals",
        "messages per size": ", ".join(f"{k}: {v}" for k, v in args.counts.items()),
        "sessions": f"{args.concurrency} ({args.big_concurrency} for 20m), a fresh connection per message",
        "mixed load": f"4 sessions of 10k for {args.mixed_seconds:g} s while 2 sessions loop the largest size",
        "floor": "bench/floor_server.py, 10k only: aiosmtpd, the header block parsed, one row per message "
                 "committed to SQLite (WAL, synchronous=FULL) before its 250" if _with_floor(args) else "not run",
        "scale check": f"{args.scale_contacts} contacts, {args.scale_messages} messages of 10k"
                       if args.scale_check else "not run",
        "warm-up": f"{args.warmup} unmeasured 10k messages and one 1m message per server",
        "smartbcc log level": args.log_level,
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
    }


async def benchmark(args: argparse.Namespace) -> Report:
    work = Path(tempfile.mkdtemp(prefix="smartbcc-bench-"))
    report = Report(describe(await databases.server_version(args.database_url)), _parameters(args))
    try:
        await main_run(args, work, report)
        if args.scale_check:
            await scale_run(args, work, report)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.profile:
        for raw in sorted(Path(args.profile).glob("*.raw.threads")):
            report.profiles[raw.name.split(".")[0]] = summarize(raw.with_suffix(".txt"))
    report.facts["load average at end"] = describe()["load average at start"]
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    report = asyncio.run(benchmark(args))
    text = render(report)
    Path(args.output).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(report), indent=1), encoding="utf-8")
    print("\n" + text + f"\nwritten to {args.output}")
    return 0 if report.errors == 0 and all(d.ok for d in report.durability) else 1


if __name__ == "__main__":
    sys.exit(main())
