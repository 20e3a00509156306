"""The web mailbox in a real browser (Debian's chromium through Selenium): a salesperson's day, and a
corpus of hostile HTML mails, sent through the real SMTP server, in which nothing runs and nothing
remote is fetched (a loopback listener the mails point at records every request)."""

from __future__ import annotations

import time

import pytest

from tests.support.browser import Listener, module_browser, sqlite_backend  # noqa: F401 (fixtures)
from tests.support.webtest import PASSWORD, add_deal

pytestmark = pytest.mark.browser



def by(kind: str, value: str):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    return {"id": By.ID, "css": By.CSS_SELECTOR, "text": By.LINK_TEXT}[kind], value


def sign_in(browser, site, email="ada@acme.example") -> None:  # type: ignore[no-untyped-def]
    browser.delete_all_cookies()
    browser.get(site.base + "/sign-in")
    browser.find_element(*by("id", "email")).send_keys(email)
    browser.find_element(*by("id", "password")).send_keys(PASSWORD)
    submit(browser, browser.find_element(*by("id", "sign-in")))
    assert browser.current_url.endswith("/mailbox"), browser.page_source


def submit(browser, element) -> None:  # type: ignore[no-untyped-def]
    """Click a button or link and wait until the next page has replaced this one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    browser.execute_script("window.smartbccOldPage = true")
    element.click()

    def replaced(driver) -> bool:  # type: ignore[no-untyped-def]
        # A marker on the old page's window, not an element of it: chromedriver may answer a look at a
        # node of a page that is going away with an inspector error instead of "stale element".
        try:
            return bool(driver.execute_script(
                "return window.smartbccOldPage === undefined && document.readyState === 'complete'"))
        except WebDriverException:      # the page is between two documents
            return False
    WebDriverWait(browser, 10).until(replaced)


def row_of(browser, subject):  # type: ignore[no-untyped-def]
    for row in browser.find_elements(*by("css", "table.messages tbody tr")):
        if subject in row.text:
            return row
    return None


def test_a_salespersons_day_sign_in_search_open_unread_move_spam_delete_restore_link(browser, site):
    site.send("Gizmo quote for Bob", body="the price is 40 per unit")
    site.send("Lunch on Friday")
    deal = add_deal(site, "Gizmo rollout")
    from tests.web.test_visibility import admin
    admin(site, "user", "set-role", "ada@acme.example", "admin")       # the never-log offer is for admins
    sign_in(browser, site)
    # search
    box = browser.find_element(*by("id", "q"))
    box.send_keys("price")
    submit(browser, browser.find_element(*by("id", "search-button")))
    assert [e.text for e in browser.find_elements(*by("css", "a.subject"))] == ["Gizmo quote for Bob"]
    # open
    submit(browser, browser.find_element(*by("text", "Gizmo quote for Bob")))
    assert browser.find_element(*by("id", "subject")).text == "Gizmo quote for Bob"
    assert "40 per unit" in browser.find_element(*by("id", "text-body")).text
    # mark unread: bold again in the list
    submit(browser, browser.find_element(*by("id", "mark-unread")))
    browser.get(site.base + "/mailbox?folder=sent")
    row = row_of(browser, "Gizmo quote for Bob")
    assert "unread" in row.get_attribute("class")
    assert int(row.find_element(*by("css", "td:nth-child(2)")).value_of_css_property("font-weight")) >= 700
    # move to a new folder
    browser.find_element(*by("id", "new-folder")).send_keys("Quotes")
    submit(browser, browser.find_element(*by("css", "nav.folders button[type=submit]")))
    browser.get(site.base + "/mailbox?folder=sent")
    row_of(browser, "Gizmo quote for Bob").find_element(*by("css", "input[name=ids]")).click()
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(*by("id", "move-to"))).select_by_visible_text("Quotes")
    submit(browser, browser.find_element(*by("id", "act-move")))
    submit(browser, browser.find_element(*by("text", "Quotes")))
    assert [e.text for e in browser.find_elements(*by("css", "a.subject"))] == ["Gizmo quote for Bob"]
    # spam, then delete, then restore from Trash
    browser.get(site.base + "/mailbox?folder=sent")
    row_of(browser, "Lunch on Friday").find_element(*by("css", "input[name=ids]")).click()
    submit(browser, browser.find_element(*by("id", "act-spam")))
    assert "Never log mail from ada@acme.example" in browser.page_source
    submit(browser, browser.find_element(*by("id", "folder-spam")))
    assert [e.text for e in browser.find_elements(*by("css", "a.subject"))] == ["Lunch on Friday"]
    row_of(browser, "Lunch on Friday").find_element(*by("css", "input[name=ids]")).click()
    submit(browser, browser.find_element(*by("id", "act-trash")))
    submit(browser, browser.find_element(*by("id", "folder-trash")))
    browser.find_element(*by("id", "check-all")).click()                  # the script checks every row
    submit(browser, browser.find_element(*by("id", "act-restore")))
    browser.get(site.base + "/mailbox?folder=sent")
    assert row_of(browser, "Lunch on Friday") is not None
    # link to a deal found by name
    submit(browser, browser.find_element(*by("text", "Lunch on Friday")))
    browser.find_element(*by("id", "find")).send_keys("gizmo")
    submit(browser, browser.find_element(*by("id", "find-button")))
    submit(browser, browser.find_element(*by("id", "link-button")))
    links = browser.find_element(*by("id", "links")).text
    assert "Gizmo rollout" in links and "rule: manual" in links
    assert f"deal:{deal}" in browser.page_source


SCRIPT = "document.title='pwned';window.x=1;fetch('{o}/script');"
HOSTILE = {
    "script tag": "<p>a</p><script>" + SCRIPT + "</script>",
    "event handlers": "<img src=x onerror=\"fetch('{o}/onerror')\"><body onload=\"fetch('{o}/onload')\">"
                      "<div onmouseover=\"fetch('{o}/over')\">hover</div>",
    "javascript url": "<a id=j href=\"javascript:fetch('{o}/jsurl')\">click</a>"
                      "<a href=\"jAvAsCrIpT&colon;fetch('{o}/jsurl2')\">x</a>",
    "svg": "<svg onload=\"fetch('{o}/svgload')\"><script>fetch('{o}/svgscript')</script>"
           "<image href=\"{o}/svgimage\"/></svg>",
    "css": "<style>@import url({o}/import.css); body {{ background: url({o}/bg.png) }}</style>"
           "<div style=\"background-image:url({o}/inline.png); width: expression(fetch('{o}/expr'))\">css</div>",
    "meta refresh": "<meta http-equiv=\"refresh\" content=\"0;url={o}/refresh\">refresh",
    "remote images": "<img src=\"{o}/img.png\"><img srcset=\"{o}/srcset.png 2x\"><table background=\"{o}/table.png\">"
                     "<tr><td>t</td></tr></table><video poster=\"{o}/poster.png\"></video>"
                     "<picture><source srcset=\"{o}/source.png\"></picture><img src=\"//127.0.0.1:{p}/proto.png\">",
    "forms": "<form action=\"{o}/form\" method=post><input name=a autofocus onfocus=\"fetch('{o}/focus')\">"
             "<button>go</button></form>",
    "base href": "<base href=\"{o}/\"><img src=\"relative.png\"><a href=\"rel\">rel</a>",
    "iframes": "<iframe src=\"{o}/iframe\"></iframe><iframe srcdoc=\"<script>fetch('{o}/srcdoc')</script>\"></iframe>",
    "object embed": "<object data=\"{o}/object\"></object><embed src=\"{o}/embed\"><applet code=\"{o}/applet\"></applet>"
                    "<link rel=stylesheet href=\"{o}/link.css\">",
}


def utf7_mail(origin: str) -> bytes:
    body = f"+ADw-script+AD4-fetch('{origin}/utf7')+ADw-/script+AD4-+ADw-img src+AD0-{origin}/utf7.png+AD4-"
    return ("From: ada@acme.example\r\nTo: bob@customer.example\r\nSubject: hostile utf-7 charset\r\n"
            "Message-ID: <utf7@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-7\r\n\r\n"
            + body + "\r\n").encode()


def test_hostile_html_mails_run_nothing_and_fetch_nothing_until_remote_content_is_asked_for(browser, site):
    with Listener() as listener:
        origin, port = listener.origin, listener.server.server_address[1]
        for name, html in HOSTILE.items():
            site.send(f"hostile {name}", html=html.format(o=origin, p=port), body="see the HTML part")
        site.send("", raw=utf7_mail(origin))
        ids = site.ids()
        assert len([s for s in ids if s.startswith("hostile")]) == len(HOSTILE) + 1
        sign_in(browser, site)
        for subject, ident in ids.items():
            browser.get(f"{site.base}/messages/{ident}")
            assert browser.title == f"{subject} - smartbcc"
            frame = browser.find_element(*by("css", "iframe.body"))
            browser.switch_to.frame(frame)
            deadline = time.monotonic() + 5
            while browser.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
                time.sleep(0.05)
            inner = browser.execute_script("return [document.title, typeof window.x]")
            browser.switch_to.default_content()
            assert inner == ["", "undefined"], subject
            assert browser.execute_script("return typeof window.x") == "undefined"
            for link in browser.find_elements(*by("css", "#j")):
                link.click()
        time.sleep(0.5)                    # anything a page set going has had its chance
        assert browser.title.endswith(" - smartbcc")
        assert listener.hits == []
        # the listener does see what a page fetches: asking for remote content loads the image
        browser.get(f"{site.base}/messages/{ids['hostile remote images']}")
        browser.find_element(*by("id", "show-remote")).click()
        deadline = time.monotonic() + 5
        while "/img.png" not in listener.hits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "/img.png" in listener.hits
        assert not any(hit.startswith(("/script", "/onerror", "/svg", "/utf7", "/expr", "/form")) for hit in listener.hits)


def test_clearing_the_review_queue_one_click_per_message(browser, site):
    from tests.support.webtest import bobs_deals
    deals = bobs_deals(site, **{"Second order": "open", "Won order": "won"})
    site.send("Which order?")
    site.send("Another question")
    sign_in(browser, site)
    submit(browser, browser.find_element(*by("id", "nav-review")))
    assert len(browser.find_elements(*by("css", "section.review-item"))) == 2
    assert "Won order" not in browser.page_source
    first = browser.find_elements(*by("css", "section.review-item"))[0]
    choice = next(b for b in first.find_elements(*by("css", "button.candidate")) if "Second order" in b.text)
    submit(browser, choice)
    assert "linked to the deal Second order" in browser.find_element(*by("css", ".notice")).text
    [left] = browser.find_elements(*by("css", "section.review-item"))
    submit(browser, left.find_element(*by("css", "button.dismiss")))
    assert browser.find_element(*by("id", "queue-empty")).text == "Nothing waits for review."
    from tests.support.gwtest import messages
    assert sum(("deal", deals["Second order"], "review") in m.links for m in messages(site.settings)) == 1


@pytest.fixture
def mailing_site(settings, smarthost):  # type: ignore[no-untyped-def]
    """The site with a smarthost (a real SMTP sink) for the mail it sends."""
    from tests.support.webtest import site_for
    yield from site_for(settings, smarthost=smarthost.address, smarthost_starttls=False)


def test_settings_copy_an_address_and_add_an_alternate_that_gets_its_confirmation_mail(browser, mailing_site,
                                                                                      smarthost):
    site = mailing_site
    sign_in(browser, site)
    submit(browser, browser.find_element(*by("id", "nav-settings")))
    assert browser.find_element(*by("id", "company-address")).text == site.seed.company_address
    copy = browser.find_element(*by("css", f'button[data-copy="{site.seed.company_address}"]'))
    copy.click()
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 5).until(lambda driver: copy.text == "Copied")
    browser.find_element(*by("id", "alternate")).send_keys("ada.phone@mobile.example")
    submit(browser, browser.find_element(*by("id", "add-alternate")))
    assert "sent to ada.phone@mobile.example" in browser.find_element(*by("css", ".notice")).text
    row = browser.find_element(*by("css", "#alternates-table tbody tr"))
    assert "ada.phone@mobile.example" in row.text and "pending" in row.text
    [mail] = smarthost.messages
    assert mail["To"] == "ada.phone@mobile.example" and "Confirm ada.phone@mobile.example" in mail["Subject"]


def test_send_the_quote_from_the_deal_then_hear_about_its_bounce(browser, mailing_site, smarthost, tmp_path):
    import smtplib
    from pathlib import Path

    from sqlalchemy import select

    from gateway.store.models import Notification
    from tests.support.gwtest import with_db

    site = mailing_site
    quote = tmp_path / "Quote 2026-17.pdf"
    quote.write_bytes(b"%PDF-1.4 the quote\n")
    sign_in(browser, site)
    # compose from the deal: its contact is offered and chosen, a file attached
    browser.get(f"{site.base}/records/deal/{site.seed.deal_id}/send")
    assert browser.find_element(*by("id", "to-1")).is_selected()
    browser.find_element(*by("id", "subject")).send_keys("Your quote")
    browser.find_element(*by("id", "body")).send_keys("Dear Bob,\nthe quote is attached.\nAda")
    browser.find_element(*by("id", "attachments")).send_keys(str(quote))
    submit(browser, browser.find_element(*by("id", "send")))
    assert "Sent to bob@customer.example" in browser.page_source
    # it arrived at the smarthost from the message's own bounce address
    [(envelope_from, rcpts)] = smarthost.envelopes
    assert envelope_from.startswith("acme+bounce-") and rcpts == ["bob@customer.example"]
    [message] = smarthost.messages
    assert [a.get_filename() for a in message.iter_attachments()] == ["Quote 2026-17.pdf"]
    message_url = browser.current_url.split("?")[0]
    # on the deal, and in Sent
    browser.get(f"{site.base}/mailbox?folder=all&record=deal:{site.seed.deal_id}")
    assert [e.text for e in browser.find_elements(*by("css", "a.subject"))] == ["Your quote"]
    browser.get(f"{site.base}/mailbox?folder=sent")
    assert row_of(browser, "Your quote") is not None
    # the customer's server bounces it to that address, through the gateway's SMTP server
    dsn = (Path(__file__).parent.parent / "data" / "dsn_bounce.eml").read_bytes()
    with smtplib.SMTP("127.0.0.1", site.smtp_port, timeout=20) as smtp:
        smtp.sendmail("", [envelope_from], dsn.replace(b"acme@bcc.example.net", envelope_from.encode()))
    browser.get(message_url)
    delivery = browser.find_element(*by("id", "delivery")).text
    assert "Bounced: not delivered" in delivery and "5.1.1" in delivery and "User unknown" in delivery

    async def notes(db):  # type: ignore[no-untyped-def]
        async with db.sessions() as session:
            return [(n.user_id, n.kind) for n in await session.scalars(select(Notification))]
    assert with_db(site.settings, notes) == [(site.seed.user_id, "bounce")]
    from tests.support.webtest import token_for
    api = site.client(headers={"Authorization": f"Bearer {token_for(site, 'ada@acme.example')}"})
    shown = api.get(f"/api/v1/messages/{message_url.rsplit('/', 1)[1]}").json()
    assert shown["delivery"] == "bounced" and shown["bounces"][0]["status"] == "5.1.1"


def test_plan_the_follow_up_and_ask_a_colleague(browser, site):
    """A task from a message (the list puts the overdue one first; mark it done), then a comment that
    @mentions a colleague, who sees the unread counter, follows the notification and reads the comment."""
    site.send("Quote for Bob")
    message = site.ids()["Quote for Bob"]
    from tests.web.test_visibility import admin
    admin(site, "messages", "share", str(message))
    sign_in(browser, site)
    for subject, due in (("Send the contract", "2999-01-01"), ("Call Bob back", "2020-01-02")):
        browser.get(site.base + f"/messages/{message}")
        submit(browser, browser.find_element(*by("id", "new-task")))
        assert browser.find_element(*by("id", "task-subject")).get_attribute("value") == "Follow up: Quote for Bob"
        field = browser.find_element(*by("id", "task-subject"))
        field.clear()
        field.send_keys(subject)
        browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(*by("id", "task-due")), due)
        submit(browser, browser.find_element(*by("id", "create-task")))
        assert "Task planned." in browser.find_element(*by("css", "p.notice")).text
    submit(browser, browser.find_element(*by("id", "nav-tasks")))
    rows = browser.find_elements(*by("css", "#task-list tbody tr"))
    assert ["Call Bob back" in rows[0].text, "Send the contract" in rows[1].text] == [True, True]
    assert "overdue" in rows[0].get_attribute("class") and "overdue" not in rows[1].get_attribute("class")
    submit(browser, rows[0].find_element(*by("css", "button.task-done")))
    assert "Done: Call Bob back" in browser.find_element(*by("css", "p.notice")).text
    assert len(browser.find_elements(*by("css", "#task-list tbody tr.task"))) == 1
    submit(browser, browser.find_element(*by("id", "tasks-done")))
    assert "Call Bob back" in browser.find_element(*by("id", "task-list")).text
    # ask a colleague
    browser.get(site.base + f"/messages/{message}")
    browser.find_element(*by("id", "comment-body")).send_keys("@Cy Colleague is <40> per unit right?")
    submit(browser, browser.find_element(*by("id", "add-comment")))
    assert "is <40> per unit right?" in browser.find_element(*by("id", "comments")).text
    sign_in(browser, site, "cy@acme.example")
    assert browser.find_element(*by("id", "unread-notifications")).text.split() == ["1", "unread"]
    submit(browser, browser.find_element(*by("id", "nav-notifications")))
    submit(browser, browser.find_element(*by("css", "#notifications li.unread a")))
    assert browser.current_url.endswith(f"/messages/{message}")
    assert "is <40> per unit right?" in browser.find_element(*by("id", "comments")).text
    assert not browser.find_elements(*by("id", "unread-notifications"))
