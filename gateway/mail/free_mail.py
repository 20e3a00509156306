"""Free-mail providers (gmail.com, outlook.com...): an address there is a person, not a company, so its
domain never makes an organization. The list is data (free_mail_domains.txt, its source and date in its
header), read once on first use."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def free_mail_domains() -> frozenset[str]:
    text = files("gateway.mail").joinpath("free_mail_domains.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_free_mail(domain: str) -> bool:
    """Whether ``domain`` (normalized, lower case) is a free-mail provider's, or a subdomain of one."""
    known = free_mail_domains()
    parts = domain.split(".")
    return any(".".join(parts[i:]) in known for i in range(len(parts) - 1))
