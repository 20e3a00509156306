"""The figures of one run, judged against the issue's targets, as Markdown for the terminal and RESULTS.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.load import Phase
from bench.machine import CpuSplit
from bench.servers import Memory

MB = 1e6
TARGET_10K = 0.75          # smartbcc / bare throughput, 10 KB messages
TARGET_1M = 2.0            # smartbcc / bare throughput, 1 MB messages
TARGET_MEMORY = 3.0        # peak memory growth / message size, 20 MB messages
TARGET_MIXED_P99 = 0.100   # seconds, 10 KB messages while 20 MB ones arrive
TARGET_SCALE = 0.90        # throughput with the largest contact count / with the smallest
BUSY = 25                  # percent of a core used by processes outside the benchmark worth a warning


@dataclass(frozen=True)
class Measured:
    server: str              # "bare" or "smartbcc"
    size_name: str
    phase: Phase
    memory: Memory
    cpu: CpuSplit


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
    profiles: dict[str, str] = field(default_factory=dict)    # size -> py-spy summary (Markdown)

    def find(self, server: str, size_name: str) -> Measured | None:
        return next((m for m in self.measured if m.server == server and m.size_name == size_name), None)

    @property
    def errors(self) -> int:
        phases = [m.phase for m in self.measured] + [p for pair in self.mixed.values() for p in pair]
        return sum(len(p.errors) for p in phases + [s.phase for s in self.scale])


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "PASS" if ok else "**MISS**"


def _throughput_ratio(report: Report, size_name: str, server: str = "smartbcc") -> float | None:
    bare, other = report.find("bare", size_name), report.find(server, size_name)
    if not bare or not other or not bare.phase.messages_per_second:
        return None
    return other.phase.messages_per_second / bare.phase.messages_per_second


def targets(report: Report) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, goal, met) rows; met is None where the run did not measure it."""
    rows: list[tuple[str, str, str, bool | None]] = []
    for size_name, goal in (("10k", TARGET_10K), ("1m", TARGET_1M)):
        ratio = _throughput_ratio(report, size_name)
        rows.append((f"{size_name} throughput, smartbcc / bare", "n/a" if ratio is None else f"{ratio:.2f}x",
                     f">= {goal:g}x", None if ratio is None else ratio >= goal))
    big = report.find("smartbcc", "20m")
    if big:
        per_message = big.memory.growth / big.phase.size / max(1, big.phase.concurrency)
        helpers = f", of which helper processes {_mib(big.memory.helpers)}" if big.memory.helpers else ""
        rows.append(("20m peak memory growth / message size", f"{per_message:.2f}x ({_mib(big.memory.growth)}"
                     f" over {big.phase.concurrency} in flight{helpers})", f"<= {TARGET_MEMORY:g}x",
                     per_message <= TARGET_MEMORY))
    else:
        rows.append(("20m peak memory growth / message size", "n/a", f"<= {TARGET_MEMORY:g}x", None))
    mixed = report.mixed.get("smartbcc")
    if mixed:
        small, big_phase = mixed
        p99 = small.percentile(0.99)
        rows.append((f"p99 of 10k while {big_phase.size / MB:g} MB messages arrive", f"{_ms(p99)} ms",
                     f"< {TARGET_MIXED_P99 * 1000:g} ms", bool(p99 < TARGET_MIXED_P99)))
    if len(report.scale) >= 2:
        low, high = report.scale[0], report.scale[-1]
        ratio = high.phase.messages_per_second / low.phase.messages_per_second if low.phase.messages_per_second else 0
        rows.append((f"throughput with {high.contacts:,} contacts / {low.contacts:,}", f"{ratio:.2f}x",
                     f">= {TARGET_SCALE:g}x", ratio >= TARGET_SCALE))
    checks = report.durability + [s.durability for s in report.scale]
    missing = sum(d.missing for d in checks)
    rows.append(("every 250 durably stored", f"{sum(d.accepted for d in checks):,} accepted, {missing:,} missing",
                 "0 missing", missing == 0 if checks else None))
    quarantined = sum(d.quarantined for d in checks)
    rows.append(("accepted messages filed, none left in the quarantine", f"{quarantined:,} quarantined", "0",
                 quarantined == 0 if checks else None))
    rows.append(("errors (any reply but 250)", str(report.errors), "0", report.errors == 0))
    return rows


def _phase_row(server: str, size_name: str, phase: Phase, memory: Memory | None, cpu: CpuSplit | None) -> str:
    mem = (f"{_mib(memory.start_rss)} -> {_mib(memory.peak)} (+{_mib(memory.own_growth)})"
           + (f", helper processes +{_mib(memory.helpers)}" if memory.helpers else "")) if memory else ""
    split = f"{cpu.client}/{cpu.server}/{cpu.other}" if cpu else ""
    per_message = (f"{cpu.server * 10 / phase.messages_per_second:,.1f}" if cpu and phase.messages_per_second
                   else "")
    return (f"| {size_name} | {server} | {phase.concurrency} | {len(phase.accepted)} | {len(phase.errors)} | "
            f"{phase.messages_per_second:,.1f} | {phase.megabytes_per_second:,.2f} | {_ms(phase.percentile(0.5))} | "
            f"{_ms(phase.percentile(0.99))} | {split} | {per_message} | {mem} |")


HEADER = ("| size | server | sessions | accepted | errors | msg/s | MB/s | p50 ms | p99 ms | CPU % client/server/other "
          "| server CPU ms/msg | server RSS start -> peak (growth) |\n" + "|---" * 12 + "|")


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
        "phases": [{"server": m.server, "size_name": m.size_name, **_phase_json(m.phase),
                    "rss_start": m.memory.start_rss, "rss_peak": m.memory.peak,
                    "helpers_growth": m.memory.helpers, "cpu": m.cpu.__dict__}
                   for m in report.measured],
        "mixed": {server: {"small": _phase_json(small), "big": _phase_json(big)}
                  for server, (small, big) in report.mixed.items()},
        "scale": [{"contacts": p.contacts, "seed_seconds": round(p.seed_seconds, 2), **_phase_json(p.phase)}
                  for p in report.scale],
        "durability": [d.__dict__ for d in report.durability + [p.durability for p in report.scale]],
        "errors": report.errors,
    }


def render(report: Report) -> str:
    out = ["# smartbcc benchmark results", "", "Written by `python -m bench.run`; every figure below comes "
           "from one run. Bare = aiosmtpd with a handler that only answers 250.", "", "## Machine", ""]
    out += [f"- {key}: {value}" for key, value in report.facts.items()]
    out += ["", "## Parameters", ""] + [f"- {key}: {value}" for key, value in report.parameters.items()]
    out += ["", "## Targets", "", "| target | measured | goal | result |", "|---|---|---|---|"]
    out += [f"| {name} | {value} | {goal} | {_verdict(ok)} |" for name, value, goal, ok in targets(report)]
    out += ["", "## Throughput and latency per size", "", HEADER]
    for m in report.measured:
        out.append(_phase_row(m.server, m.size_name, m.phase, m.memory, m.cpu))
    out += ["", "| size | smartbcc / bare msg/s | floor / bare msg/s |", "|---|---|---|"]
    for size_name in dict.fromkeys(m.size_name for m in report.measured):
        ratios = [_throughput_ratio(report, size_name, server) for server in ("smartbcc", "floor")]
        out.append("| " + " | ".join([size_name, *("n/a" if r is None else f"{r:.2f}x" for r in ratios)]) + " |")
    if report.find("floor", "10k"):
        out += ["", "The floor (bench/floor_server.py) is the least a gateway on these fixed choices does: aiosmtpd, "
                "the header block parsed, one row per message committed before its 250. smartbcc's distance to "
                "the floor is the cost of its own work (sender check, contacts, links, duplicates); the floor's "
                "distance to bare is the cost of a durable 250 in Python on SQLAlchemy."]
    out += ["", "## Mixed load", ""]
    if report.mixed:
        out += [HEADER]
        for server, (small, big) in report.mixed.items():
            out.append(_phase_row(server, "10k (mixed)", small, None, None))
            out.append(_phase_row(server, f"{big.size / MB:g} MB (mixed)", big, None, None))
    else:
        out.append("Not run (it needs 10k and a larger size in --sizes).")
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
            "(filed messages, and the quarantine of accepted but unfiled ones).", "",
            "| database | accepted (250) | stored | of which quarantined | missing | stored without a 250 |",
            "|---|---|---|---|---|---|"]
    for d in report.durability + [s.durability for s in report.scale]:
        out.append(f"| {d.where} | {d.accepted:,} | {d.stored:,} | {d.quarantined:,} | {d.missing:,} | "
                   f"{d.unacknowledged:,} |")
    out += ["", "## The load generator", ""]
    out += [f"- {what}: {figure}" for what, figure in report.references] or ["- no reference run"]
    busy = [f"{m.size_name} {m.server} ({m.cpu.other}%)" for m in report.measured if m.cpu.other > BUSY]
    notes = report.notes + ([f"other processes on this machine used more than {BUSY}% of a core during: "
                             f"{', '.join(busy)}; those phases had less CPU than the others"] if busy else [])
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    for size_name, summary in report.profiles.items():
        out += ["", f"## Profile of smartbcc, {size_name} phase (py-spy; a profiled run is slower)", "", summary]
    return "\n".join(out) + "\n"
