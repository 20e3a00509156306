"""aiosmtpd's own replies get RFC 3463 enhanced codes; ours pass unchanged."""

import pytest

from gateway.handlers.protocol import with_enhanced_code
from gateway.replies import ACCEPTED, RELAY_DENIED


@pytest.mark.parametrize("given, expected", [
    ("250 OK", "250 2.0.0 OK"),
    ("221 Bye", "221 2.0.0 Bye"),
    ("503 Error: need RCPT command", "503 5.5.1 Error: need RCPT command"),
    ("500 Error: bad syntax", "500 5.5.2 Error: bad syntax"),
    ("501 Syntax: NOOP [ignored]", "501 5.5.4 Syntax: NOOP [ignored]"),
    ("552 Error: Too much mail data", "552 5.3.4 Message size exceeds fixed limit"),
    ("552 Error: message size exceeds fixed maximum message size", "552 5.3.4 Message size exceeds fixed limit"),
    ("553 5.1.3 Error: malformed address", "553 5.1.3 Error: malformed address"),
    ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
    ("220 host ESMTP", "220 host ESMTP"),
    ("250-SIZE 100", "250-SIZE 100"),
    ("250", "250 2.0.0"),
    (str(ACCEPTED), str(ACCEPTED)),
    (str(RELAY_DENIED), str(RELAY_DENIED)),
])
def test_with_enhanced_code(given, expected):
    assert with_enhanced_code(given) == expected
