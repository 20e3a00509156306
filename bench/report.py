"""The figures of one run, judged against the issue's targets, as Markdown for the terminal and RESULTS.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.cli_startup import BASELINE, Startup
from bench.load import Phase
from bench.machine import CpuSplit
from bench.mail import SHAPE_NAMES
from bench.servers import Memory
from bench.source import SourceRun

MB = 1e6
TARGET_10K_POSTFIX = 1.0   # smartbcc / Postfix's durable queue, 10 kB messages (both load generators)
TARGET_1M = 1.5            # smartbcc / bare throughput, 1 MB messages, every shape
TARGET_MEMORY = 3.0        # peak memory growth (helper processes counted) / message size, 20 MB, every shape
TARGET_MIXED_P99 = 0.100   # seconds, 10 kB messages while 20 MB ones of every shape arrive
TARGET_WORKERS = 1.6       # --workers 2 / --workers 1 on the same load
TARGET_CLI = 0.3           # seconds, a `smartbcc` command from exec to exit (median)
TARGET_SCALE = 0.90        # throughput with the largest contact count / with the smallest
SERVERS = ("bare", "floor", "postfix", "smartbcc")
BUSY = 25                  # percent of a core used by processes outside the benchmark worth a warning


@dataclass(frozen=True)
class Measured:
    server: str              # "bare", "floor", "postfix", "smartbcc", "smartbcc --workers N"
    size_name: str
    phase: Phase
    memory: Memory
    cpu: CpuSplit
    shape: str = ""          # a key of bench.mail.SHAPES; "" for the plain default


@dataclass(frozen=True)
class Durability:
    where: str
    accepted: int
    stored: int
    missing: int             # answered 250 but not in the database: must be 0
    unacknowledged: int      # in the database without a 250 (a client error after the commit)
    quarantined: int = 0     # of the stored: kept in the quarantine (accepted, not filed)

    @property
    def ok(self) -> bool:
        return self.missing == 0


@dataclass(frozen=True)
class ScalePoint:
    contacts: int
    seed_seconds: float
    phase: Phase
    durability: Durability


@dataclass
class Report:
    facts: dict[str, str]
    parameters: dict[str, str]
    measured: list[Measured] = field(default_factory=list)
    mixed: dict[str, tuple[Phase, Phase]] = field(default_factory=dict)
    durability: list[Durability] = field(default_factory=list)
    scale: list[ScalePoint] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)   # (what, figure) about the client
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)    # size-shape -> py-spy summary (Markdown)
    sources: list[SourceRun] = field(default_factory=list)     # smtp-source against each server
    startup: list[Startup] = field(default_factory=list)       # the CLI's start-up, baseline first
    postfix: str = "not run"                                   # "" when the Postfix anchor ran, else why not
    workers: str = "not run"                                   # "" when --workers 1 and 2 were compared
    phase_durability: list[tuple[str, int, int]] = field(default_factory=list)   # smartbcc: (phase, 250s, missing)

    def find(self, server: str, size_name: str, shape: str | None = None) -> Measured | None:
        return next((m for m in self.measured if m.server == server and m.size_name == size_name
                     and (shape is None or m.shape == shape)), None)

    def source(self, server: str, size_name: str) -> SourceRun | None:
        return next((r for r in self.sources if r.server == server and r.size_name == size_name), None)

    def shapes(self, size_name: str) -> list[str]:
        return list(dict.fromkeys(m.shape for m in self.measured if m.size_name == size_name and m.server in SERVERS))

    @property
    def errors(self) -> int:
        phases = [m.phase for m in self.measured] + [p for pair in self.mixed.values() for p in pair]
        return sum(len(p.errors) for p in phases + [s.phase for s in self.scale]) + \
            sum(1 for r in self.sources if not r.ok)


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "PASS" if ok else "**MISS**"


def _ratio(report: Report, size_name: str, server: str, base: str, shape: str) -> float | None:
    top, bottom = report.find(server, size_name, shape), report.find(base, size_name, shape)
    if not top or not bottom or not bottom.phase.messages_per_second:
        return None
    return top.phase.messages_per_second / bottom.phase.messages_per_second


def _source_ratio(report: Report, size_name: str, server: str, base: str) -> float | None:
    top, bottom = report.source(server, size_name), report.source(base, size_name)
    if not top or not bottom or not bottom.messages_per_second:
        return None
    return top.messages_per_second / bottom.messages_per_second


def _x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def _shape(shape: str) -> str:
    return SHAPE_NAMES.get(shape, shape) if shape else "plain"


def _at_least(name: str, ratio: float | None, goal: float, why: str = "") -> tuple[str, str, str, bool | None]:
    return name, _x(ratio) if ratio is not None or not why else f"n/a ({why})", f">= {goal:g}x", \
        None if ratio is None else ratio >= goal


def targets(report: Report) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) rows; met is None where the run did not measure it."""
    rows: list[tuple[str, str, str, bool | None]] = []
    why = report.postfix
    for shape in report.shapes("10k"):
        rows.append(_at_least(f"10k {_shape(shape)}, smartbcc / Postfix (our generator)",
                              _ratio(report, "10k", "smartbcc", "postfix", shape), TARGET_10K_POSTFIX, why))
    if report.source("smartbcc", "10k"):
        rows.append(_at_least("10k, smartbcc / Postfix (smtp-source)",
                              _source_ratio(report, "10k", "smartbcc", "postfix"), TARGET_10K_POSTFIX, why))
    for shape in report.shapes("1m"):
        rows.append(_at_least(f"1m {_shape(shape)}, smartbcc / bare", _ratio(report, "1m", "smartbcc", "bare", shape),
                              TARGET_1M))
    for shape in report.shapes("20m"):
        big = report.find("smartbcc", "20m", shape)
        name = f"20m {_shape(shape)}, peak memory growth / message size"
        if not big:
            rows.append((name, "n/a", f"<= {TARGET_MEMORY:g}x", None))
            continue
        per_message = big.memory.growth / big.phase.size / max(1, big.phase.concurrency)
        helpers = f", of which helper processes {_mib(big.memory.helpers)}" if big.memory.helpers else ""
        rows.append((name, f"{per_message:.2f}x ({_mib(big.memory.growth)} over {big.phase.concurrency} in "
                     f"flight{helpers})", f"<= {TARGET_MEMORY:g}x", per_message <= TARGET_MEMORY))
    mixed = report.mixed.get("smartbcc")
    if mixed:
        small, big_phase = mixed
        p99 = small.percentile(0.99)
        rows.append((f"p99 of 10k while {big_phase.size / MB:g} MB messages of every shape arrive", f"{_ms(p99)} ms",
                     f"< {TARGET_MIXED_P99 * 1000:g} ms", bool(p99 < TARGET_MIXED_P99)))
    one, two = report.find("smartbcc --workers 1", "10k"), report.find("smartbcc --workers 2", "10k")
    if one and two and one.phase.messages_per_second:
        rows.append(_at_least("10k, smartbcc --workers 2 / --workers 1",
                              two.phase.messages_per_second / one.phase.messages_per_second, TARGET_WORKERS))
    else:
        rows.append(("10k, smartbcc --workers 2 / --workers 1", report.workers or "n/a", f">= {TARGET_WORKERS:g}x",
                     None))
    for startup in report.startup[1:]:
        rows.append((f"`{startup.command}` answers", startup.error or f"{startup.median:.2f} s median "
                     f"(best {startup.best:.2f} s)", f"< {TARGET_CLI:g} s",
                     not startup.error and startup.median < TARGET_CLI))
    if len(report.scale) >= 2:
        low, high = report.scale[0], report.scale[-1]
        ratio = high.phase.messages_per_second / low.phase.messages_per_second if low.phase.messages_per_second else 0
        rows.append((f"throughput with {high.contacts:,} contacts / {low.contacts:,}", f"{ratio:.2f}x",
                     f">= {TARGET_SCALE:g}x", ratio >= TARGET_SCALE))
    checks = report.durability + [s.durability for s in report.scale]
    missing = sum(d.missing for d in checks)
    short = [label for label, _, lost in report.phase_durability if lost]
    rows.append(("every 250 durably stored, in every phase", f"{sum(d.accepted for d in checks):,} accepted, "
                 f"{missing:,} missing" + (f" (in {', '.join(short)})" if short else ""), "0 missing",
                 missing == 0 and not short if checks else None))
    quarantined = sum(d.quarantined for d in checks)
    rows.append(("accepted messages filed, none left in the quarantine", f"{quarantined:,} quarantined", "0",
                 quarantined == 0 if checks else None))
    rows.append(("errors (any reply but 250)", str(report.errors), "0", report.errors == 0))
    return rows


def _phase_row(server: str, size_name: str, phase: Phase, memory: Memory | None, cpu: CpuSplit | None,
               shape: str = "") -> str:
    mem = (f"{_mib(memory.start_rss)} -> {_mib(memory.peak)} (+{_mib(memory.own_growth)})"
           + (f", helper processes +{_mib(memory.helpers)}" if memory.helpers else "")) if memory else ""
    split = f"{cpu.client}/{cpu.server}/{cpu.other}" if cpu else ""
    per_message = (f"{cpu.server * 10 / phase.messages_per_second:,.1f}" if cpu and phase.messages_per_second
                   else "")
    return (f"| {size_name} | {_shape(shape)} | {server} | {phase.concurrency} | {len(phase.accepted)} | "
            f"{len(phase.errors)} | {phase.messages_per_second:,.1f} | {phase.megabytes_per_second:,.2f} | "
            f"{_ms(phase.percentile(0.5))} | {_ms(phase.percentile(0.99))} | {split} | {per_message} | {mem} |")


HEADER = ("| size | shape | server | sessions | accepted | errors | msg/s | MB/s | p50 ms | p99 ms | "
          "CPU % client/server/other | server CPU ms/msg | server RSS start -> peak (growth) |\n" + "|---" * 13 + "|")


def _phase_json(phase: Phase) -> dict[str, object]:
    return {"size": phase.size, "sessions": phase.concurrency, "sent": len(phase.outcomes),
            "accepted": len(phase.accepted), "errors": len(phase.errors), "error_summary": phase.error_summary(),
            "seconds": round(phase.seconds, 3), "messages_per_second": round(phase.messages_per_second, 2),
            "megabytes_per_second": round(phase.megabytes_per_second, 3),
            "p50_ms": round(phase.percentile(0.5) * 1000, 2), "p99_ms": round(phase.percentile(0.99) * 1000, 2)}


def to_json(report: Report) -> dict[str, object]:
    """The same figures for programs: the smoke test, or a comparison between two runs."""
    return {
        "facts": report.facts, "parameters": report.parameters,
        "targets": [{"target": t, "measured": m, "goal": g, "met": ok} for t, m, g, ok in targets(report)],
        "phases": [{"server": m.server, "size_name": m.size_name, "shape": m.shape, **_phase_json(m.phase),
                    "rss_start": m.memory.start_rss, "rss_peak": m.memory.peak,
                    "helpers_growth": m.memory.helpers, "cpu": m.cpu.__dict__}
                   for m in report.measured],
        "smtp_source": [{"server": r.server, "size_name": r.size_name, "length": r.length, "messages": r.messages,
                         "sessions": r.sessions, "seconds": round(r.seconds, 3), "error": r.error,
                         "messages_per_second": round(r.messages_per_second, 2), "cpu": r.cpu.__dict__}
                        for r in report.sources],
        "cli": [s.__dict__ for s in report.startup],
        "postfix": report.postfix, "workers": report.workers,
        "mixed": {server: {"small": _phase_json(small), "big": _phase_json(big)}
                  for server, (small, big) in report.mixed.items()},
        "scale": [{"contacts": p.contacts, "seed_seconds": round(p.seed_seconds, 2), **_phase_json(p.phase)}
                  for p in report.scale],
        "durability": [d.__dict__ for d in report.durability + [p.durability for p in report.scale]],
        "phase_durability": [{"phase": label, "accepted": accepted, "missing": missing}
                             for label, accepted, missing in report.phase_durability],
        "errors": report.errors,
    }


RATIOS = (("smartbcc", "bare"), ("smartbcc", "postfix"), ("smartbcc", "floor"), ("postfix", "bare"),
          ("floor", "bare"))


def _ratios(report: Report) -> list[str]:
    out = ["| size | shape | " + " | ".join(f"{a} / {b}" for a, b in RATIOS) + " |",
           "|---|---" + "|---" * len(RATIOS) + "|"]
    for size_name in dict.fromkeys(m.size_name for m in report.measured if m.server in SERVERS):
        for shape in report.shapes(size_name):
            out.append(f"| {size_name} | {_shape(shape)} | " + " | ".join(
                _x(_ratio(report, size_name, a, b, shape)) for a, b in RATIOS) + " |")
    return out


def _sources(report: Report) -> list[str]:
    if not report.sources:
        return ["Not run (smtp-source not installed, or left out with --skip source)."]
    out = ["| size | server | sessions | messages | msg/s | MB/s | CPU % client/server/other | server CPU ms/msg | "
           "our generator's msg/s, same size, text shape | smtp-source / our generator | result |",
           "|---" * 11 + "|"]
    for r in report.sources:
        ours = report.find(r.server, r.size_name, "text") or report.find(r.server, r.size_name, "")
        mine = ours.phase.messages_per_second if ours else 0.0
        per_message = f"{r.cpu.server * 10 / r.messages_per_second:,.1f}" if r.messages_per_second else ""
        out.append(f"| {r.size_name} | {r.server} | {r.sessions} | {r.messages:,} | {r.messages_per_second:,.1f} | "
                   f"{r.messages_per_second * (r.length + 150) / MB:,.2f} | "
                   f"{r.cpu.client}/{r.cpu.server}/{r.cpu.other} "
                   f"| {per_message} | {f'{mine:,.1f}' if mine else 'n/a'} | "
                   f"{_x(r.messages_per_second / mine if mine and r.ok else None)} | "
                   f"{r.error or 'every message 250'} |")
    out += ["", "| size | " + " | ".join(f"{a} / {b}" for a, b in RATIOS) + " |", "|---" + "|---" * len(RATIOS) + "|"]
    for size_name in dict.fromkeys(r.size_name for r in report.sources):
        out.append(f"| {size_name} | "
                   + " | ".join(_x(_source_ratio(report, size_name, a, b)) for a, b in RATIOS) + " |")
    return out


def _per_process(cpu: CpuSplit) -> str:
    """The server's CPU per process: the one started first, then the processes it started (workers,
    the parsing process), busiest first."""
    if not cpu.processes:
        return "one process"
    first, *rest = cpu.processes
    return f"per process: {first}%" + "".join(f" + {x}%" for x in sorted(rest, reverse=True) if x > 0)


def _workers(report: Report) -> list[str]:
    runs = [m for m in report.measured if m.server.startswith("smartbcc --workers")]
    if not runs:
        return [f"Not compared: {report.workers}."]
    out = [HEADER] + [_phase_row(m.server, m.size_name, m.phase, m.memory, m.cpu, m.shape) for m in runs]
    if len(runs) == 2 and runs[0].phase.messages_per_second:
        one, two = runs
        ratio = two.phase.messages_per_second / one.phase.messages_per_second
        out += ["", f"--workers 2 / --workers 1: {ratio:.2f}x. Where the CPU went (percent of one core; 200% is "
                f"the whole machine): --workers 1 server {one.cpu.server}% ({_per_process(one.cpu)}), client "
                f"{one.cpu.client}%, other {one.cpu.other}%; --workers 2 server {two.cpu.server}% "
                f"({_per_process(two.cpu)}), client {two.cpu.client}%, other {two.cpu.other}%."]
        if ratio < TARGET_WORKERS:
            idle = max(0, 200 - two.cpu.server - two.cpu.client - two.cpu.other)
            out.append(f"Below {TARGET_WORKERS:g}x: with two workers the load generator took {two.cpu.client}% "
                       f"and the rest of the machine {two.cpu.other}% of the 200% there is, {idle}% stayed idle "
                       "(waiting: on fsync, on the database's write lock, or on the client). "
                       "On 2 cores, a second worker can only use what the client and the others leave.")
    return out


def _startup(report: Report) -> list[str]:
    if not report.startup:
        return ["Not measured (left out with --skip cli)."]
    base = report.startup[0]
    out = ["| command | runs | best s | median s | median minus `python -c pass` s | result |",
           "|---|---|---|---|---|---|"]
    for s in report.startup:
        verdict = "baseline" if s.command == BASELINE else s.error or _verdict(s.median < TARGET_CLI)
        out.append(f"| `{s.command}` | {s.runs} | {s.best:.3f} | {s.median:.3f} | "
                   f"{s.median - base.median:.3f} | {verdict} |")
    return out


def render(report: Report) -> str:
    out = ["# smartbcc benchmark results", "", "Written by `python -m bench.run`; every figure below is this run's "
           "own, measured side by side in the same minutes. Bare = aiosmtpd with a handler that only answers "
           "250; floor = aiosmtpd committing one row per message to SQLite; Postfix = a private Postfix "
           "queueing every message durably (fsync) to its discard transport.", "", "## Machine", ""]
    out += [f"- {key}: {value}" for key, value in report.facts.items()]
    out += ["", "## Parameters", ""] + [f"- {key}: {value}" for key, value in report.parameters.items()]
    out += ["", "## Targets", "", "| target | measured | goal | result |", "|---|---|---|---|"]
    out += [f"| {name} | {value} | {goal} | {_verdict(ok)} |" for name, value, goal, ok in targets(report)]
    out += ["", "## Throughput and latency per size and shape (our generator)", "", HEADER]
    for m in report.measured:
        if m.server in SERVERS:
            out.append(_phase_row(m.server, m.size_name, m.phase, m.memory, m.cpu, m.shape))
    out += ["", "### Ratios of msg/s, same size and shape", ""] + _ratios(report)
    if report.postfix:
        out += ["", f"Postfix anchor: {report.postfix}."]
    if report.find("floor", "10k"):
        out += ["", "The floor (bench/floor_server.py) is the least a gateway on these fixed choices does: aiosmtpd, "
                "the header block parsed, one row per message committed before its 250. smartbcc's distance to "
                "the floor is the cost of its own work (sender check, contacts, links, duplicates); the floor's "
                "distance to bare is the cost of a durable 250 in Python on SQLAlchemy."]
    out += ["", "## smtp-source (Postfix's C load generator)", ""] + _sources(report)
    out += ["", "## Mixed load", ""]
    if report.mixed:
        out += [HEADER]
        for server, (small, big) in report.mixed.items():
            out.append(_phase_row(server, "10k (mixed)", small, None, None))
            out.append(_phase_row(server, f"{big.size / MB:g} MB (mixed)", big, None, None, "every shape in turn"))
    else:
        out.append("Not run (it needs 10k and a larger size in --sizes).")
    out += ["", "## smartbcc serve --workers", ""] + _workers(report)
    out += ["", "## Command line start-up", ""] + _startup(report)
    out += ["", "## Scale check", ""]
    if report.scale:
        out += ["| contacts | seeding s | sessions | accepted | errors | msg/s | p50 ms | p99 ms |",
                "|---|---|---|---|---|---|---|---|"]
        for point in report.scale:
            p = point.phase
            out.append(f"| {point.contacts:,} | {point.seed_seconds:.1f} | {p.concurrency} | {len(p.accepted)} | "
                       f"{len(p.errors)} | {p.messages_per_second:,.1f} | {_ms(p.percentile(0.5))} | "
                       f"{_ms(p.percentile(0.99))} |")
    else:
        out.append("Not run (add --scale-check).")
    out += ["", "## Durability", "", "Every Message-ID that got a 250, looked up in the database after the run "
            "(filed messages, and the quarantine of accepted but unfiled ones); smtp-source's runs by the host "
            "name in their Message-IDs; Postfix's from its log (each message the discard transport took).", "",
            "| where | accepted (250) | stored | of which quarantined | missing | stored without a 250 |",
            "|---|---|---|---|---|---|"]
    for d in report.durability + [s.durability for s in report.scale]:
        out.append(f"| {d.where} | {d.accepted:,} | {d.stored:,} | {d.quarantined:,} | {d.missing:,} | "
                   f"{d.unacknowledged:,} |")
    if report.phase_durability:
        out += ["", "smartbcc, phase by phase (our generator):", "", "| phase | accepted (250) | missing |",
                "|---|---|---|"]
        out += [f"| {label} | {accepted:,} | {missing:,} |" for label, accepted, missing in report.phase_durability]
    out += ["", "## The load generator", ""]
    out += [f"- {what}: {figure}" for what, figure in report.references] or ["- no reference run"]
    busy = [f"{m.size_name} {_shape(m.shape)} {m.server} ({m.cpu.other}%)" for m in report.measured
            if m.cpu.other > BUSY]
    notes = report.notes + ([f"other processes on this machine used more than {BUSY}% of a core during: "
                             f"{', '.join(busy)}; those phases had less CPU than the others"] if busy else [])
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    for name, summary in report.profiles.items():
        out += ["", f"## Profile of smartbcc, {name} phase (py-spy; a profiled run is slower)", "", summary]
    return "\n".join(out) + "\n"
