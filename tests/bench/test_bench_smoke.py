"""The benchmark, at a tiny size, still runs end to end: both servers, every size, the mixed load and the
scale check, every message accepted and stored. Nothing here looks at a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("## Machine", "## Parameters", "## Targets", "## Throughput and latency per size", "## Mixed load",
            "## Scale check", "## Durability", "## The load generator")


def test_quick_benchmark_accepts_and_stores_every_message(tmp_path: Path) -> None:
    output, figures = tmp_path / "RESULTS.md", tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--scale-check", "--messages", "10k=20,1m=2",
         # the mixed load's big sessions finish what they began: each load has mail through in any length
         "--mixed-seconds", "0.3", "--output", str(output), "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    data = json.loads(figures.read_text())
    phases = {(p["server"], p["size_name"]): p for p in data["phases"]}
    assert set(phases) == {(s, n) for s in ("bare", "smartbcc") for n in ("10k", "1m")} | {("floor", "10k")}
    for (server, size_name), phase in phases.items():
        assert phase["sent"] == {"10k": 20, "1m": 2}[size_name], (server, size_name)
        assert phase["accepted"] == phase["sent"] and phase["errors"] == 0, phase["error_summary"]
        assert phase["rss_peak"] >= phase["rss_start"] > 0
    for server in ("bare", "smartbcc"):
        mixed = data["mixed"][server]
        assert mixed["small"]["accepted"] > 0 and mixed["big"]["accepted"] > 0
        assert mixed["small"]["errors"] == mixed["big"]["errors"] == 0
    assert [p["contacts"] for p in data["scale"]] == [100, 1000]
    assert all(p["accepted"] == p["sent"] == 20 for p in data["scale"])
    assert data["errors"] == 0

    # every 250 is in the database, and nothing is there that did not get one
    assert len(data["durability"]) == 3
    for check in data["durability"]:
        assert check["missing"] == 0 and check["unacknowledged"] == 0 and check["quarantined"] == 0
        assert check["stored"] == check["accepted"] > 0
    main = data["durability"][0]
    mixed_accepted = sum(data["mixed"]["smartbcc"][k]["accepted"] for k in ("small", "big"))
    warmup = 3 + 1      # 10k messages, and one 1m message (smartbcc starts its parsing process)
    assert main["accepted"] == 20 + 2 + mixed_accepted + warmup

    text = output.read_text()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "| every 250 durably stored |" in text and "| 10k throughput, smartbcc / bare |" in text
    assert "| 1m throughput, smartbcc / bare |" in text
    # the floor kept every message it answered 250 to
    assert "of them missing from its database" in text and ", 0 of them missing from its database" in text
