"""What a bounce says (gateway.mail.dsn): DSNs by recipient, and the little a report that is not one tells."""

from pathlib import Path

import pytest

from gateway.mail.dsn import Report, read_reports

DSN = (Path(__file__).parent.parent / "data" / "dsn_bounce.eml").read_bytes()

TWO = b"""From: MAILER-DAEMON@mx.example
Subject: Delivery Status Notification
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Some did not arrive.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; <Ann@Customer.example>
Action: failed
Status: 5.2.2 (mailbox full)
Diagnostic-Code: smtp; 552 5.2.2 Mailbox
  full

Final-Recipient: rfc822; joe@customer.example
Action: delayed
Status: 4.4.1
--b--
"""


@pytest.mark.parametrize("raw, expected", [
    (DSN, (Report("nobody@customer.example", "failed", "5.1.1",
                  "550 5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown in virtual "
                  "mailbox table"),)),
    (TWO, (Report("ann@customer.example", "failed", "5.2.2", "552 5.2.2 Mailbox full"),
           Report("joe@customer.example", "delayed", "4.4.1", ""))),
    (b"From: MAILER-DAEMON@old.example\nSubject: failure notice\n\nSorry, no.\n",
     (Report("", "failed", "", "failure notice"),)),
    (b"From: bob@customer.example\nSubject: Out of office\nAuto-Submitted: auto-replied\n\nBack Monday\n",
     (Report("", "", "", "Out of office"),)),
    (b"\xff\xfe not mail at all", (Report("", "", "", "(no subject)"),)),
])
def test_reports(raw, expected):
    assert read_reports(raw) == expected


def test_failed_is_the_action_or_else_a_permanent_status():
    assert [Report(action="failed").failed, Report(action="delayed", status="4.4.1").failed,
            Report(status="5.1.1").failed, Report().failed] == [True, False, True, False]
