"""`smartbcc doctor`: check a deployment from the outside and say, per check, what to fix.

Each check gives a :class:`Finding`: ``ok``, ``warning`` (works, but something should be looked at) or
``error`` (mail will be refused, deferred or lost until it is fixed), with one line saying what to fix.
The checks run side by side; those that block (DNS, files, sockets) run in worker threads.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Awaitable, Callable, Literal

from gateway.config import Settings

Status = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    check: str           # e.g. "dns mx", "tls certificate"
    status: Status
    detail: str          # what was found
    fix: str = ""        # what to do about it; "" when ok

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def warning(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "warning", detail, fix)


def error(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "error", detail, fix)


Check = Callable[[Settings], Awaitable[list[Finding]]]


async def examine(settings: Settings) -> list[Finding]:
    """Every check of the deployment ``settings`` describe, in a fixed order."""
    from gateway.ops.doctor import local, network

    checks: list[Check] = [network.mx, network.outbound_spf, local.tls, network.smarthost, local.database,
                           local.disk, network.ports]

    async def guarded(check: Check) -> list[Finding]:
        try:
            return await check(settings)
        except Exception as failure:   # a check that breaks is a finding, not the end of the others
            name = check.__name__.replace("_", " ")
            return [error(name, f"the check itself failed: {failure!r}", "report this with the detail")]

    results = await asyncio.gather(*(guarded(check) for check in checks))
    return [finding for findings in results for finding in findings]


def failed(findings: list[Finding], strict: bool = False) -> bool:
    """Whether the run counts as failed: any error; with ``strict``, any warning too."""
    bad = ("error", "warning") if strict else ("error",)
    return any(f.status in bad for f in findings)
