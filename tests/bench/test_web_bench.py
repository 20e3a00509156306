"""The web mailbox benchmark, at a tiny size, still seeds, signs in and answers every page it times.
Nothing here looks at a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_web_benchmark_answers_every_page(tmp_path: Path) -> None:
    figures = tmp_path / "web.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.web", "--messages", "3000", "--rounds", "2", "--data-dir", str(tmp_path / "data"),
         "--json", str(figures)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(figures.read_text())
    assert data["messages"] == 3000
    pages = data["pages"]
    assert pages["mailbox page (Sent)"]["rows"] == 50
    assert pages["search, 1 in 10"]["rows"] == 50
    assert 0 < pages["search, 1 in 1000 (a subject word)"]["rows"] <= 50
