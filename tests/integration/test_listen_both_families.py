"""`host = "127.0.0.1,::1"` (or `0.0.0.0,::`): one gateway listening on IPv4 and IPv6 together."""

from __future__ import annotations

import socket

import pytest

from gateway.config import ConfigError, load_settings
from gateway.web.server import listening_sockets
from tests.support.gwtest import ThreadedGateway, free_port, seed, sqlite_only


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


@sqlite_only
def test_one_gateway_answers_on_ipv4_and_ipv6(settings):
    both = settings.replace(host="127.0.0.1,::1", port=free_port())
    with ThreadedGateway(both, seed(both)):
        for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family) as client:
                client.settimeout(10)
                client.connect((address, both.port))
                assert client.recv(512).startswith(b"220 "), address


def test_the_web_server_binds_each_address_and_port_zero_is_refused_for_several(tmp_path):
    settings = load_settings(overrides={"data_dir": str(tmp_path), "web_host": "127.0.0.1,::1",
                                        "web_port": free_port()}, environ={})
    sockets = listening_sockets(settings)
    assert sockets is not None
    try:
        assert [s.family for s in sockets] == [socket.AF_INET, socket.AF_INET6]
        assert {s.getsockname()[1] for s in sockets} == {settings.web_port}
    finally:
        for s in sockets:
            s.close()
    with pytest.raises(ConfigError, match="one port"):
        load_settings(overrides={"host": "0.0.0.0,::", "port": 0}, environ={})
