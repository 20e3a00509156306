"""Mail addresses as the gateway compares them.

Every address the gateway stores or looks up goes through :func:`normalize_email` first, so that
``Ada@ACME.com``, ``ada@acme.com`` and ``ada@xn--acm-cma.com``-style spellings meet in one form.
SPEC: addresses compare case-insensitively.
"""

from __future__ import annotations

import unicodedata


class InvalidAddress(ValueError):
    """An address that cannot be a mailbox; the message says what is wrong with it."""


def _normalize_domain(domain: str) -> str:
    domain = unicodedata.normalize("NFC", domain.strip().rstrip(".")).lower()
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna").lower()
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


def normalize_email(address: str) -> str:
    """Return the comparison form of ``local@domain``: NFC, lower case, IDN domains in Unicode.

    Raises InvalidAddress when there is no ``@`` with text on both sides.
    """
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    local, sep, domain = address.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress(f"{address!r} is not an address of the form name@domain")
    local = unicodedata.normalize("NFC", local)
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        unquoted = local[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if unquoted and all(c.isalnum() or c in "!#$%&'*+-/=?^_`{|}~." for c in unquoted):
            local = unquoted
    return f"{local.lower()}@{_normalize_domain(domain)}"


def split_email(address: str) -> tuple[str, str]:
    """Split a normalized address into (local part, domain)."""
    local, _, domain = address.rpartition("@")
    return local, domain


def normalize_domain(domain: str) -> str:
    """Comparison form of a bare domain (``Acme.COM.`` -> ``acme.com``)."""
    domain = _normalize_domain(domain)
    if not domain or "." not in domain or any(not label for label in domain.split(".")):
        raise InvalidAddress(f"{domain!r} is not a domain name like example.com")
    return domain


def validate_mailbox(address: str) -> str:
    """Check an address typed by an admin and return its normalized form.

    Uses email-validator's syntax rules (no DNS look-up), so a typo gets an answer that names it.
    Imported here: only addresses typed by an admin need it, and it takes a while to import.
    """
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        raise InvalidAddress(f"{address!r} is not a valid address: {error}") from None
    return normalize_email(checked.normalized)
