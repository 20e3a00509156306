"""Identifier alignment (RFC 7489 3.1): organizational domains from the Public Suffix List.

The list is the one shipped in the ``publicsuffixlist`` package (nothing is downloaded at run time);
a name under a suffix the list does not know counts as one label below that suffix.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """``mail.acme.co.uk`` -> ``acme.co.uk``; a public suffix itself stays as it is."""
    domain = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(domain) or domain


def aligned(identifier: str, author_domain: str, mode: str = "r") -> bool:
    """Equal names (``s``, strict), or one organizational domain (``r``, relaxed)."""
    a = identifier.strip().rstrip(".").lower()
    b = author_domain.strip().rstrip(".").lower()
    if not a or not b:
        return False
    return a == b if mode == "s" else org_domain(a) == org_domain(b)


def domain_of(address: str) -> str:
    """The domain of an address (or the name itself when it has no ``@``), lower case."""
    return address.rpartition("@")[2].strip().rstrip(".").lower()
