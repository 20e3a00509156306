"""The benchmark, at a tiny size, still runs end to end: every server (Postfix where it is installed), one
shape of mail (the others are made by the same code, tests/unit/test_bench_mail.py) at two sizes,
smtp-source, the mixed load, the command line's start-up and the scale check, every message accepted and
stored. Nothing here looks at a timing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench import postfix_anchor

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("## Machine", "## Parameters", "## Targets", "## Throughput and latency per size and shape",
            "### Ratios of msg/s", "## smtp-source", "## Mixed load", "## smartbcc serve --workers",
            "## Command line start-up", "## Scale check", "## Durability", "## The load generator")
SHAPES = ("text",)
POSTFIX = not postfix_anchor.unavailable()
SOURCE = shutil.which("smtp-source") is not None


def test_quick_benchmark_accepts_and_stores_every_message(tmp_path: Path) -> None:
    output, figures = tmp_path / "RESULTS.md", tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--scale-check", "--messages", "10k=20,1m=2",
         "--shapes", ",".join(SHAPES), "--source-messages", "10k=10,1m=1",
         # the mixed load's big sessions finish what they began: each load has mail through in any length
         "--mixed-seconds", "0.3", "--output", str(output), "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    data = json.loads(figures.read_text())
    servers = ("bare", "smartbcc") + (("postfix",) if POSTFIX else ())
    phases = {(p["server"], p["size_name"], p["shape"]): p for p in data["phases"]}
    expected = {(s, n, shape) for s in servers for n in ("10k", "1m") for shape in SHAPES}
    expected |= {("floor", "10k", shape) for shape in SHAPES}
    # `smartbcc serve --workers`, where this version has it, adds its two runs of the plain 10k load
    expected |= {(f"smartbcc --workers {n}", "10k", "text") for n in (1, 2)} if not data["workers"] else set()
    assert set(phases) == expected, data["postfix"]
    for key, phase in phases.items():
        assert phase["sent"] == {"10k": 20, "1m": 2}[key[1]], key
        assert phase["accepted"] == phase["sent"] and phase["errors"] == 0, phase["error_summary"]
        assert phase["rss_peak"] >= phase["rss_start"] > 0
    for server in ("bare", "smartbcc"):
        mixed = data["mixed"][server]
        assert mixed["small"]["accepted"] > 0 and mixed["big"]["accepted"] > 0
        assert mixed["small"]["errors"] == mixed["big"]["errors"] == 0
    assert [p["contacts"] for p in data["scale"]] == [100, 1000]
    assert all(p["accepted"] == p["sent"] == 20 for p in data["scale"])
    assert data["errors"] == 0

    # smtp-source against every server, each message answered 250
    runs = {(r["server"], r["size_name"]): r for r in data["smtp_source"]}
    assert set(runs) == ({(s, n) for s in servers + ("floor",) for n in ("10k", "1m")} - {("floor", "1m")}
                         if SOURCE else set())
    assert all(r["error"] == "" and r["messages"] == {"10k": 10, "1m": 1}[r["size_name"]] for r in runs.values())

    # the command line answered, timed against the bare interpreter
    assert [c["command"] for c in data["cli"]] == ["python -c pass", "smartbcc --help"]
    assert all(c["error"] == "" and c["best"] > 0 for c in data["cli"])

    # every 250 is in the database, and nothing is there that did not get one
    checks = {check["where"]: check for check in data["durability"]}
    for where, check in checks.items():
        assert check["missing"] == 0 and check["unacknowledged"] == 0 and check["quarantined"] == 0, where
        assert check["stored"] == check["accepted"] > 0, where
    smart_phases = [key for key in phases if key[0].startswith("smartbcc")]
    assert len(data["phase_durability"]) == len(smart_phases) + 2      # and the mixed load's two
    assert all(p["missing"] == 0 and p["accepted"] > 0 for p in data["phase_durability"])
    main = data["durability"][0]
    mixed_accepted = sum(data["mixed"]["smartbcc"][k]["accepted"] for k in ("small", "big"))
    warmup = 3 + 1      # 10k messages, and one 1m message (smartbcc starts its parsing process)
    workers = 2 * (20 + warmup) if not data["workers"] else 0
    assert main["accepted"] == len(SHAPES) * (20 + 2) + mixed_accepted + warmup + workers
    assert sum(where.startswith("smtp-source") for where in checks) == (2 if SOURCE else 0)
    if POSTFIX:   # the private Postfix took every message it answered 250 to, ours and smtp-source's
        postfix = checks["Postfix, messages its discard transport took (from its log)"]
        assert postfix["accepted"] == warmup + len(SHAPES) * (20 + 2) + (10 + 1 if SOURCE else 0)
    else:
        print(f"Postfix anchor not checked: {data['postfix']}")
    assert data["postfix"] == ("" if POSTFIX else data["postfix"])

    text = output.read_text()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    for shape in ("long plain text, short lines",):
        assert f"| 1m {shape}, smartbcc / bare |" in text
        assert f"| 10k {shape}, smartbcc / Postfix (our generator) |" in text
    assert "| every 250 durably stored, in every phase |" in text and "| `smartbcc --help` answers |" in text
    # the floor kept every message it answered 250 to
    assert "of them missing from its database" in text and ", 0 of them missing from its database" in text
