"""A company's own domains: an address there that is not a user is a colleague's, and makes no contact."""

from __future__ import annotations


def own_domains_of(domain: str, own_domains: list[str] | None) -> frozenset[str]:
    """The company's own domains: the setting, or the company's domain while it is unset."""
    return frozenset(own_domains if own_domains is not None else [domain])
