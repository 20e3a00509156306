"""An automated accessibility check of the page a Selenium browser shows: axe-core 4 (the copy that the
axe-core-python package ships) injected into the page and run there; what it finds of serious or
critical impact, described well enough to fix from a test failure."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

BLOCKING = ("serious", "critical")


@cache
def axe_source() -> str:
    return (files("axe_core_python") / "axe.min.js").read_text(encoding="utf-8")


def violations(browser: Any, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (the sandboxed message frame aside: it shows the sender's
    HTML as sent) whose impact is one of ``impacts``."""
    browser.set_script_timeout(60)
    browser.execute_script(axe_source())
    found = browser.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {iframes: false, resultTypes: ['violations']})"
        "  .then(function (r) { done(r.violations); }, function (e) { done({error: String(e)}); });")
    if isinstance(found, dict):
        raise RuntimeError(f"axe-core did not run on {browser.current_url}: {found.get('error')}")
    return [v for v in found if v.get("impact") in impacts and v["nodes"]]


def described(page: str, found: list[dict[str, Any]]) -> str:
    lines = [f"{page}: {len(found)} accessibility violation(s)"]
    for v in found:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"      at {' '.join(map(str, node.get('target', [])))}: {node.get('html', '')[:160]}")
            summary = " ".join(str(node.get("failureSummary", "")).split())
            if summary:
                lines.append(f"        {summary[:300]}")
    return "\n".join(lines)
