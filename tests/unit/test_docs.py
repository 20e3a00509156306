"""The documentation a newcomer reads stays true: README's settings table is the one made from
gateway/config.py, and every link in README, docs/ and deploy/ leads to a file of the repository."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from gateway.config import HELP, Settings, readme_with_table, settings_table

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md")), *sorted((ROOT / "deploy").glob("**/*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)", re.M)


def test_the_readme_settings_table_is_the_one_made_from_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_table(readme) == readme, "run `python -m gateway.config --write-readme`"
    assert settings_table().count("\n| `") == len(fields(Settings))


def test_every_setting_has_help_and_no_help_is_left_over():
    names = {f.name for f in fields(Settings)}
    assert names - set(HELP) == set(), "add the meaning of each new setting to gateway.config.HELP"
    assert set(HELP) - names == set()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_of_the_repository(document):
    for match in LINK.finditer(document.read_text(encoding="utf-8")):
        target, _, anchor = (match.group(1) or match.group(2)).partition("#")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):     # https:, mailto:
            continue
        path = (document.parent / target).resolve()
        assert path.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
        assert path.exists(), f"{document.name} links to {target}, which does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{document.name} links to #{anchor}, not a heading of {path.name}"


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as -."""
    headings = re.findall(r"^#+\s+(.+)$", document.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}
