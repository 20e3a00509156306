"""The gateway's own addresses: company slugs, per-record addresses and their keyed tokens.

``<slug>@<mail_domain>`` is a company's address; ``<slug>+<kind>-<id>-<token>@<mail_domain>`` is one
record's. The token is a keyed hash of company, kind, id and the record's token version, so record
addresses cannot be guessed, and rotating (bumping the version) retires the old one at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from gateway.mail.address import normalize_domain

TOKEN_LENGTH = 10
SLUG_MAX = 40

_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "or", "ne", "gv", "nom"}
_SKIP_LABELS = {"www", "mail", "email", "smtp", "mx"}


def slug_for_domain(domain: str) -> str:
    """The company-address local part derived from a company's domain: ``acme.co.uk`` -> ``acme``."""
    labels = normalize_domain(domain).split(".")
    suffix = 1
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        suffix = 2
    candidates = [label for label in labels[:-suffix] if label not in _SKIP_LABELS] or labels[:-suffix]
    label = candidates[-1]
    if not label.isascii():
        label = label.encode("idna").decode("ascii")
    slug = re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-")[:SLUG_MAX].strip("-")
    return slug or "company"


def unique_slug(base: str, taken: set[str]) -> str:
    """``base`` if free, else ``base-2``, ``base-3``, ..."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def record_token(key: bytes, company_id: int, kind: str, record_id: int, version: int) -> str:
    message = f"{company_id}:{kind}:{record_id}:{version}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_LENGTH]


def token_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.lower().encode())


def company_address(slug: str, mail_domain: str) -> str:
    return f"{slug}@{mail_domain}"


def record_address(slug: str, kind: str, record_id: int, token: str, mail_domain: str) -> str:
    return f"{slug}+{kind}-{record_id}-{token}@{mail_domain}"


def verify_address(slug: str, token: str, mail_domain: str) -> str:
    """Where an alternate address's confirmation reply goes (gateway.services.aliases sends it)."""
    return f"{slug}+verify-{token}@{mail_domain}"
