"""deploy/: the image installs the tested versions, the compose file runs two gateways on one PostgreSQL
with the TLS and smarthost settings shown, and the unit's Documentation= names a file the install puts
there. (Read as text: building images is not for the test suite.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_the_image_installs_with_the_pinned_constraints():
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert re.search(r"^COPY scripts/constraints\.txt ", containerfile, re.M)
    install = re.search(r"pip install [^\n]*", containerfile)
    assert install and "--constraint scripts/constraints.txt" in install.group(0)
    guide = (DEPLOY / "GUIDE.md").read_text()
    assert "pip install --constraint scripts/constraints.txt" in guide


def services(compose: str) -> dict[str, str]:
    """The compose file's services, each with its block of text (YAML read by its indentation)."""
    body = compose.split("\nservices:\n", 1)[1].split("\n\nvolumes:", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^  ([\w-]+):\n((?:    .*\n|\s*\n)*)", body + "\n", re.M)}


def test_compose_runs_two_gateway_processes_on_one_postgresql_with_tls_and_smarthost_shown():
    compose = (DEPLOY / "compose.yaml").read_text()
    assert "\t" not in compose
    gateways = [name for name, block in services(compose).items()
                if "<<: *gateway" in block and "command:" not in block]
    assert len(gateways) == 2, services(compose)
    anchor = compose.split("x-gateway: &gateway\n", 1)[1].split("\nservices:", 1)[0]
    assert "SMARTBCC_DATABASE_URL: postgresql://smartbcc:smartbcc@db/smartbcc" in anchor
    assert "SMARTBCC_MAILBOX_KEY: ${SMARTBCC_MAILBOX_KEY:?" in anchor     # the same key on every process
    for setting in ("TLS_CERT_FILE", "TLS_KEY_FILE", "SMARTHOST", "SMARTHOST_USERNAME", "SMARTHOST_PASSWORD"):
        assert f"# SMARTBCC_{setting}: " in anchor, setting


def test_the_units_documentation_is_a_file_the_install_puts_there():
    unit = (DEPLOY / "smartbcc.service").read_text()
    documentation = re.search(r"^Documentation=file://(\S+)$", unit, re.M)
    assert documentation
    installed = documentation.group(1)
    assert f"install -D -m 0644 deploy/GUIDE.md {installed}" in (DEPLOY / "GUIDE.md").read_text()
    assert f"COPY deploy/GUIDE.md {installed}" in (DEPLOY / "Containerfile").read_text()
