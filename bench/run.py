"""One command, one run: bare aiosmtpd, the floor, Postfix and smartbcc under the same load, judged
against the targets.

    python -m bench.run                      # the full benchmark (about 10 minutes), writes bench/RESULTS.md
    python -m bench.run --scale-check        # also 1,000 vs 1,000,000 contacts
    python -m bench.run --sizes 1m --shapes html,parts --skip source,cli,workers   # a subset
    python -m bench.run --quick --output /tmp/r.md          # seconds: keeps the benchmark working

The servers run side by side in subprocesses of their own; for each size and shape each server takes
the same load in turn, from our generator and from Postfix's smtp-source. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

if __package__ in (None, ""):     # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cli_startup, databases, postfix_anchor, reference, source
from bench.load import run_mixed, run_phase
from bench.machine import CpuMeter, describe, wait_quiet
from bench.mail import SHAPES, SIZES, MessageFactory
from bench.profile import Sampler, summarize
from bench.report import Durability, Measured, Report, ScalePoint, render, to_json
from bench.seed import Population, seed, stored_message_ids
from bench.servers import ServerProcess, server_overrides, start_bare, start_floor, start_smartbcc

DEFAULT_MESSAGES = {"10k": 600, "1m": 40, "20m": 2}           # per shape
QUICK_MESSAGES = {"10k": 20, "1m": 2, "20m": 1}
DEFAULT_SOURCE = {"10k": 1500, "1m": 40}                      # smtp-source, its own message (-l)
QUICK_SOURCE = {"10k": 20, "1m": 2}
PARTS = ("postfix", "source", "cli", "workers", "mixed")       # what --skip can leave out


def _counts(text: str | None, sizes: list[str], defaults: dict[str, int]) -> dict[str, int]:
    counts = dict(defaults)
    if text and "=" not in text:
        counts = {name: int(text) for name in SIZES}
    elif text:
        counts.update({k.strip(): int(v) for k, v in (item.split("=") for item in text.split(","))})
    return {name: counts[name] for name in sizes if name in counts}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--messages", help="per size and shape: N for every size, or 10k=600,1m=40,20m=2 (the default)")
    p.add_argument("--concurrency", type=int, default=20, help="concurrent sessions (default 20)")
    p.add_argument("--big-concurrency", type=int, default=1, help="sessions for 20m messages (default 1)")
    p.add_argument("--sizes", default="10k,1m,20m", help=f"comma-separated, of {', '.join(SIZES)}")
    p.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)} "
                   "(each size is sent in each shape)")
    p.add_argument("--source-messages", help="smtp-source's messages per size: 10k=1500,1m=40 (the default); "
                   "sizes other than 10k and 1m are not sent with it")
    p.add_argument("--skip", default="", help=f"comma-separated parts to leave out, of {', '.join(PARTS)}")
    p.add_argument("--cli-runs", type=int, default=5, help="runs of each smartbcc command timed (default 5)")
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
        args.cli_runs = min(args.cli_runs, 1)
    args.size_names = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.size_names if s not in SIZES]
    if unknown:
        p.error(f"unknown size {unknown}: use {', '.join(SIZES)}")
    args.shape_names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if not args.shape_names or [s for s in args.shape_names if s not in SHAPES]:
        p.error(f"--shapes {args.shapes!r}: use some of {', '.join(SHAPES)}")
    args.skipped = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skipped - set(PARTS):
        p.error(f"--skip {args.skip!r}: use some of {', '.join(PARTS)}")
    args.counts = _counts(args.messages, args.size_names, QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    args.source_counts = _counts(args.source_messages, [s for s in args.size_names if s in DEFAULT_SOURCE],
                                 QUICK_SOURCE if args.quick else DEFAULT_SOURCE)
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
                   concurrency: int, profile: Path | None = None, shape: str = "") -> Measured:
    sampler = Sampler(server.pid, profile / f"{size_name}-{shape or 'plain'}.raw.txt") if profile else None
    server.begin_phase()
    meter = CpuMeter(server.pid)
    phase = await run_phase(size_name, "127.0.0.1", server.port, partial(factory.make, shape=shape), SIZES[size_name],
                            count, concurrency)
    cpu, memory = meter.stop(), server.end_phase()
    if sampler:
        sampler.stop(len(phase.accepted))
    m = Measured(label, size_name, phase, memory, cpu, shape)
    print(f"  {size_name:>4} {shape:<10} {label:<20} {phase.messages_per_second:8.1f} msg/s "
          f"{phase.megabytes_per_second:7.2f} MB/s  p50 {phase.percentile(.5) * 1000:7.1f} ms  "
          f"p99 {phase.percentile(.99) * 1000:7.1f} ms  errors {len(phase.errors)}  CPU client/server/other "
          f"{cpu.client}/{cpu.server}/{cpu.other}%  RSS +{memory.growth / 2**20:.1f} MiB"
          + (f"  [{phase.error_summary()}]" if phase.errors else ""), flush=True)
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


def _durability(stored: set[str], quarantined: set[str], accepted: set[str], where: str) -> Durability:
    return Durability(where, len(accepted), len(stored & accepted), len(accepted - stored), len(stored - accepted),
                      len(quarantined & accepted))


async def _mixed(args: argparse.Namespace, report: Report, bare: ServerProcess, smart: ServerProcess,
                 factory: MessageFactory, big: str) -> set[str]:
    """10k messages over 4 sessions while 2 sessions loop ``big`` ones of every shape in turn; returns
    smartbcc's accepted ids."""
    ids: set[str] = set()
    for label, server in (("bare", bare), ("smartbcc", smart)):
        small, large = await run_mixed("127.0.0.1", server.port, factory, SIZES["10k"], SIZES[big],
                                       args.mixed_seconds, 4, 2, tuple(args.shape_names))
        report.mixed[label] = (small, large)
        if label == "smartbcc":
            ids.update(o.message_id for o in small.accepted + large.accepted)
        print(f"  mixed {label:<8} 10k p99 {small.percentile(.99) * 1000:.1f} ms over {len(small.accepted)} "
              f"messages while {len(large.accepted)} x {big} arrived; errors {len(small.errors) + len(large.errors)}",
              flush=True)
    return ids


def _log_notes(report: Report, server: ServerProcess, where: str) -> None:
    problems = server.log_problems()
    report.notes.append(f"{server.name} log, {where}: "
                        + ("; ".join(problems) if problems else "no warnings or errors"))


def _start_postfix(args: argparse.Namespace, report: Report, size_limit: int) -> postfix_anchor.PostfixServer | None:
    report.postfix = "left out (--skip postfix)" if "postfix" in args.skipped else postfix_anchor.unavailable()
    if report.postfix:
        print(f"Postfix anchor not run: {report.postfix}", flush=True)
        return None
    try:
        return postfix_anchor.start_postfix(max(100, args.concurrency * 2), size_limit)
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        report.postfix = f"could not start: {error}"
        print(f"Postfix anchor not run: {report.postfix}", flush=True)
        return None


def _smtp_source(args: argparse.Namespace, report: Report, servers: list[tuple[str, ServerProcess]],
                 sender: str, recipient: str) -> dict[str, list[source.SourceRun]]:
    """smtp-source against each server, for each size it sends; the runs per server."""
    runs: dict[str, list[source.SourceRun]] = {}
    if "source" in args.skipped or not source.available():
        report.notes.append("smtp-source not run: " + ("--skip source" if "source" in args.skipped else
                                                       "not installed (apt-get install postfix)"))
        return runs
    for size_name, count in args.source_counts.items():
        length = SIZES[size_name] - 150          # smtp-source's header block is about 150 bytes
        for label, server in servers:
            if label == "floor" and size_name != "10k":
                continue          # the floor is a 10k figure
            run = source.run_source(label, size_name, server.port, server.pid, length, count, args.concurrency,
                                    sender, recipient)
            report.sources.append(run)
            runs.setdefault(label, []).append(run)
            print(f"  {size_name:>4} smtp-source {label:<20} {run.messages_per_second:8.1f} msg/s  CPU "
                  f"client/server/other {run.cpu.client}/{run.cpu.server}/{run.cpu.other}%"
                  + (f"  [{run.error}]" if run.error else ""), flush=True)
    return runs


def _source_durability(runs: list[source.SourceRun], stored: set[str], quarantined: set[str]) -> list[Durability]:
    out = []
    for run in runs:
        suffix = f"@{run.host}>"
        kept = [i for i in stored if i.endswith(suffix)]
        accepted = run.messages if run.ok else 0      # a failed run says no more than "some got a 250"
        out.append(Durability(f"smtp-source {run.size_name} on smartbcc", accepted, len(kept),
                              max(0, accepted - len(kept)), max(0, len(kept) - accepted),
                              sum(1 for i in quarantined if i.endswith(suffix))))
    return out


async def _workers(args: argparse.Namespace, report: Report, work: Path, database: databases.BenchDatabase,
                   factory: MessageFactory) -> set[str]:
    """smartbcc --workers 1, then --workers 2, on the same 10k load; returns the accepted ids."""
    ids: set[str] = set()
    if "workers" in args.skipped or "10k" not in args.size_names:
        report.workers = "left out (--skip workers, or no 10k in --sizes)"
        return ids
    if not cli_startup.serve_has_workers(server_overrides(database.settings)):
        report.workers = "not available: this version's `smartbcc serve` has no --workers option"
        return ids
    for n in (1, 2):
        label = f"smartbcc --workers {n}"
        server = start_smartbcc(work, database.settings, f"smartbcc-workers{n}.log", ("--workers", str(n)), label)
        try:
            await _warmup(server, factory, args.warmup, ids)
            m = await _measure(server, label, factory, "10k", args.counts["10k"], args.concurrency, shape="text")
            report.measured.append(m)
            ids.update(o.message_id for o in m.phase.accepted)
        finally:
            server.stop()
        _log_notes(report, server, label)
    report.workers = ""
    return ids


async def main_run(args: argparse.Namespace, work: Path, report: Report) -> None:
    population = Population(args.users, args.contacts, args.deals)
    database = await databases.fresh(args.database_url, work, "main", args.log_level)
    seeded = await seed(database.settings, population)
    print(f"seeded {population.contacts:,} contacts, {population.orgs:,} organizations, {population.deals:,} "
          f"open deals, {population.users} users in {seeded.seconds:.1f} s ({database.label})", flush=True)
    report.notes.append(f"main database seeded in {seeded.seconds:.1f} s")
    size_limit = database.settings.max_message_size
    bare = start_bare(work, size_limit)
    smart = start_smartbcc(work, database.settings)
    floor = start_floor(work, size_limit) if _with_floor(args) else None
    postfix = _start_postfix(args, report, size_limit)
    ids: set[str] = set()
    floor_ids: set[str] = set()
    postfix_accepted = 0
    accepted = {"smartbcc": ids, "floor": floor_ids}    # each looked up in its database afterwards
    factory = MessageFactory(population, seeded.company_address, secrets.token_hex(3))
    profile = Path(args.profile) if args.profile else None
    source_runs: dict[str, list[source.SourceRun]] = {}
    try:
        await _warmup(bare, factory, args.warmup, set())
        await _warmup(smart, factory, args.warmup, ids)
        if floor:
            await _warmup(floor, factory, args.warmup, floor_ids)
        if postfix:
            warm: set[str] = set()
            await _warmup(postfix, factory, args.warmup, warm)
            postfix_accepted += len(warm)
        for size_name in args.size_names:
            sessions = args.big_concurrency if size_name == "20m" else args.concurrency
            servers = [("bare", bare), ("floor", floor if size_name == "10k" else None), ("postfix", postfix),
                       ("smartbcc", smart)]
            for shape in args.shape_names:
                for label, server in servers:
                    if server is None:
                        continue
                    m = await _measure(server, label, factory, size_name, args.counts[size_name], sessions,
                                       profile if label == "smartbcc" else None, shape)
                    report.measured.append(m)
                    if label in accepted:
                        accepted[label].update(o.message_id for o in m.phase.accepted)
                    elif label == "postfix":
                        postfix_accepted += len(m.phase.accepted)
        source_runs = _smtp_source(args, report, [(label, server) for label, server in (
            ("bare", bare), ("floor", floor), ("postfix", postfix), ("smartbcc", smart)) if server is not None],
            population.user_email(0), seeded.company_address)
        postfix_accepted += sum(r.messages for r in source_runs.get("postfix", []) if r.ok)
        big = [s for s in args.size_names if s != "10k"]
        if "10k" in args.size_names and big and "mixed" not in args.skipped:
            ids.update(await _mixed(args, report, bare, smart, factory, big[-1]))
        if not args.quick and "10k" in args.size_names:
            report.references += await reference.client_vs_sink(work, factory, SIZES["10k"], 3000, args.concurrency)
        if postfix:
            delivered = postfix.wait_delivered(postfix_accepted)
            report.durability.append(Durability("Postfix, messages its discard transport took (from its log)",
                                                postfix_accepted, delivered, max(0, postfix_accepted - delivered),
                                                max(0, delivered - postfix_accepted)))
            _log_notes(report, postfix, "warnings and errors")
    finally:
        bare.stop()
        smart.stop()
        if floor:
            floor.stop()
        if postfix:
            postfix.stop()
    _log_notes(report, smart, "main run")
    if floor:
        report.notes.append(_floor_kept(work, floor_ids))
    report.notes.append(f"peak RSS: bare {bare.peak / 2**20:.1f} MiB (baseline {bare.baseline_rss / 2**20:.1f}), "
                        f"smartbcc {smart.peak / 2**20:.1f} MiB (baseline {smart.baseline_rss / 2**20:.1f})")
    ids.update(await _workers(args, report, work, database, factory))
    if "cli" not in args.skipped:
        commands = cli_startup.COMMANDS[:1] if args.quick else cli_startup.COMMANDS
        report.startup = cli_startup.measure(server_overrides(database.settings), args.cli_runs, commands)
        for startup in report.startup:
            print(f"  {startup.command:<32} best {startup.best:.3f} s  median {startup.median:.3f} s"
                  + (f"  [{startup.error}]" if startup.error else ""), flush=True)
    filed, quarantined = await stored_message_ids(database.settings)
    stored, held = set(filed) | set(quarantined), set(quarantined)
    from_source = {i for run in source_runs.get("smartbcc", []) for i in stored if i.endswith(f"@{run.host}>")}
    report.durability.insert(0, _durability(stored - from_source, held, ids,
                                            f"smartbcc, our generator, {population.contacts:,} contacts"))
    report.durability[1:1] = _source_durability(source_runs.get("smartbcc", []), stored, held)
    phases = [(f"{m.size_name} {m.shape or 'plain'}, {m.server}", m.phase) for m in report.measured
              if m.server.startswith("smartbcc")] + [(f"mixed, {m}", ph) for m, ph in zip(
                  ("10k", "large"), report.mixed.get("smartbcc", ()))]
    report.phase_durability = [(label, len(phase.accepted), len({o.message_id for o in phase.accepted} - stored))
                               for label, phase in phases]
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
        filed, quarantined = await stored_message_ids(database.settings)
        durability = _durability(set(filed) | set(quarantined), set(quarantined), ids, f"scale, {contacts:,} contacts")
        report.scale.append(ScalePoint(contacts, seeded.seconds, m.phase, durability))
        await databases.drop(database)


def _parameters(args: argparse.Namespace) -> dict[str, str]:
    return {
        "database": "PostgreSQL (fresh databases on --database-url)" if args.database_url else
                    "SQLite (WAL, synchronous=FULL) in a temp folder",
        "population": f"1 company, {args.users} users, {args.contacts:,} contacts "
                      f"({max(1, args.contacts // 10):,} organizations), {args.deals:,} open deals",
        "messages per size and shape": ", ".join(f"{k}: {v}" for k, v in args.counts.items()),
        "shapes": ", ".join(args.shape_names),
        "sessions": f"{args.concurrency} ({args.big_concurrency} for 20m), a fresh connection per message",
        "smtp-source": "not run" if "source" in args.skipped else
                       ", ".join(f"{k}: {v} messages" for k, v in args.source_counts.items())
                       + f", {args.concurrency} sessions, its own message (-l: the size less ~150 header bytes)",
        "Postfix anchor": "left out" if "postfix" in args.skipped else
                          "a private instance in a temp folder (bench/postfix_anchor.py): every message queued "
                          "(cleanup fsyncs the queue file before the 250), then the discard transport",
        "mixed load": "not run" if "mixed" in args.skipped else
                      f"4 sessions of 10k for {args.mixed_seconds:g} s while 2 sessions loop the largest size, "
                      "every shape in turn",
        "floor": "bench/floor_server.py, 10k only: aiosmtpd, the header block parsed, one row per message "
                 "committed to SQLite (WAL, synchronous=FULL) before its 250" if _with_floor(args) else "not run",
        "scale check": f"{args.scale_contacts} contacts, {args.scale_messages} messages of 10k"
                       if args.scale_check else "not run",
        "warm-up": f"{args.warmup} unmeasured 10k messages and one 1m message per server",
        "command line": "not measured" if "cli" in args.skipped else
                        f"each command {args.cli_runs} times against the seeded database",
        "smartbcc": "`smartbcc serve` with its defaults (where it has --workers, its default number of "
                    "serving processes); anti-spoofing off, abuse limits above the load",
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
