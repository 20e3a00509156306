"""An import's memory does not grow with the file: four times the rows, about the same peak
(gateway.services.imports streams rows and writes them in batches; the database is the index)."""

from __future__ import annotations

import asyncio
import csv
import tracemalloc
from pathlib import Path

from gateway.config import Settings
from gateway.services import companies
from gateway.services.imports import Source, import_file
from gateway.store.database import Database, initialize
from tests.support.gwtest import with_db


def people_file(path: Path, rows: int) -> Path:
    """Pipedrive-shaped contacts; every 10th row repeats an earlier address (a merge), every 100th is refused."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Person - Name", "Person - Organization", "Person - Email - Work", "Person - Email - Home"])
        for i in range(rows):
            j = i // 2 if i % 10 == 9 else i
            email = f"person{j}@example{j % 97}.example" if i % 100 != 42 else f"broken{i}@"
            writer.writerow([f"Person {j}", f"Company {j % 50}", email, f"home{i}@mail.example"])
    return path


def test_peak_memory_does_not_grow_with_the_rows(sqlite_settings: Settings, tmp_path: Path) -> None:
    runs = [("warm", 100), ("small", 400), ("large", 1600)]

    async def work(db: Database) -> dict[str, tuple[int, int, int]]:
        peaks = {}
        for slug, rows in runs:
            await companies.add_company(db, slug, f"{slug}.example")
            path = people_file(tmp_path / f"{slug}.csv", rows)
            tracemalloc.start()
            try:
                report = await import_file(db, "person", slug, path, Source("pipedrive", None), batch_size=100)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            peaks[slug] = (peak, report.created + report.merged, report.refused)
        return peaks

    asyncio.run(initialize(sqlite_settings))
    peaks = with_db(sqlite_settings, work)
    assert peaks["large"][1:] == (1600 - 16, 16) and peaks["small"][1:] == (400 - 4, 4)
    # four times the rows: the peak is one batch's, not the file's (a per-row leak of even 200 bytes
    # would add 240 kB here)
    assert peaks["large"][0] < peaks["small"][0] * 1.3 + 200_000, peaks
