"""Records in a real browser (Debian's chromium through Selenium), with mail filed by the real SMTP server:
a deal's whole conversation on its page, and an inquiry turned into a deal from the message page."""

from __future__ import annotations


import pytest

from tests.support.browser import module_browser, sqlite_backend  # noqa: F401 (fixtures)
from tests.web.test_browser import by, sign_in, submit
from tests.web.test_records import INQUIRY, deal_conversation

pytestmark = pytest.mark.browser



def test_a_deals_whole_conversation_and_an_inquiry_turned_into_a_deal(browser, site):
    deal_conversation(site)
    site.send("", raw=INQUIRY)
    sign_in(browser, site)
    # see a deal's whole conversation: Records, the deal, its mail in threads with their directions
    submit(browser, browser.find_element(*by("id", "nav-records")))
    submit(browser, browser.find_element(*by("text", "Bob's big order")))
    threads = browser.find_elements(*by("css", "ol.thread"))
    assert [[m.find_element(*by("css", "a.subject")).text for m in t.find_elements(*by("css", "li.mail"))]
            for t in threads] == [["Delivery note"], ["Re: Order details", "Order details"]]
    assert [e.text for e in threads[1].find_elements(*by("css", ".direction"))] == ["incoming", "outgoing"]
    assert browser.find_element(*by("css", "[data-record^='person:']")).text == "Bob Buyer <bob@customer.example>"
    browser.find_element(*by("id", "copy-bcc")).click()
    assert browser.find_element(*by("id", "bcc-address")).get_attribute("value") == site.seed.deal_address
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 5).until(lambda b: b.find_element(*by("id", "copy-done")).text == "Copied")
    # turn an inquiry into a deal: open it from the Inbox, Save to CRM as a deal, land on the deal
    submit(browser, browser.find_element(*by("id", "nav-mailbox")))
    submit(browser, browser.find_element(*by("text", "Fwd: RE: Gold plan for 40 seats")))
    assert browser.find_element(*by("id", "save-title")).get_attribute("value") == "Gold plan for 40 seats"
    assert browser.find_element(*by("id", "save-email")).get_attribute("value") == "carol@client.example"
    assert browser.find_element(*by("id", "save-kind-deal")).is_selected()
    submit(browser, browser.find_element(*by("id", "save-to-crm")))
    assert "/records/deal/" in browser.current_url
    assert browser.find_element(*by("id", "record-title")).text == "Gold plan for 40 seats"
    mail = browser.find_element(*by("css", "ol.thread li.mail"))
    assert "Fwd: RE: Gold plan for 40 seats" in mail.text and "incoming" in mail.text
    assert "Carol Customer" in browser.find_element(*by("css", "section[aria-labelledby=linked-h]")).text
