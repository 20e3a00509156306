"""Accessibility in a real browser (Debian's chromium through Selenium): axe-core finds no serious or
critical violation on any page of the web app, in English and in German, and a user gets through the
mailbox, a message and a form with the keyboard alone."""

from __future__ import annotations


import pytest

from tests.support.a11y import described, violations
from tests.support.browser import module_browser, sqlite_backend  # noqa: F401 (fixtures)
from tests.support.webtest import admin, bobs_deals
from tests.web.test_browser import by, sign_in, submit
from tests.web.test_records import deal_conversation

pytestmark = pytest.mark.browser



def pages(site) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page of the web app, with realistic data on it."""
    deal_conversation(site)
    bobs_deals(site, **{"Second order": "open"})
    site.send("Which order?", html="<p>Which <b>order</b> do you mean?</p>",
              attachments=(("quote.pdf", "application/pdf", b"%PDF-1.4 quote"),))
    admin(site, "user", "set-role", "ada@acme.example", "admin")
    ids = site.ids()
    message, deal = ids["Which order?"], site.seed.deal_id
    return ["/mailbox", "/mailbox?folder=all&q=order", f"/messages/{message}", f"/messages/{message}?find=Bob",
            "/records", "/records?kind=person", f"/records/deal/{deal}", f"/records/deal/{deal}/send",
            f"/messages/{message}/task", "/review", "/tasks", "/notifications", "/settings", "/settings/company",
            "/settings/mailboxes", "/messages/999999"]


def test_no_page_has_a_serious_or_critical_accessibility_violation(browser, site):
    paths = pages(site)
    found: list[str] = []
    browser.delete_all_cookies()
    browser.get(site.base + "/sign-in")
    if (bad := violations(browser)):
        found.append(described("/sign-in", bad))
    sign_in(browser, site)
    for path in paths:
        browser.get(site.base + path)
        assert browser.find_element(*by("css", "html")).get_attribute("lang") == "en"
        if (bad := violations(browser)):
            found.append(described(path, bad))
    # in German too (longer words, another lang), chosen on the settings page
    from selenium.webdriver.support.ui import Select
    browser.get(site.base + "/settings")
    Select(browser.find_element(*by("id", "language-choice"))).select_by_value("de")
    submit(browser, browser.find_element(*by("id", "save-language")))
    for path in ("/settings", "/mailbox?folder=all", paths[2], paths[6]):
        browser.get(site.base + path)
        assert browser.find_element(*by("css", "html")).get_attribute("lang") == "de"
        if (bad := violations(browser)):
            found.append(described(f"{path} (de)", bad))
    assert not found, "\n".join(found)


def test_the_mailbox_a_message_and_a_form_with_the_keyboard_alone(browser, site):
    from selenium.webdriver.common.keys import Keys
    site.send("Keyboard question")
    browser.delete_all_cookies()
    browser.get(site.base + "/sign-in")

    def press(*keys: str) -> None:
        browser.switch_to.active_element.send_keys(*keys)

    def tab_to(test, limit: int = 80) -> object:  # type: ignore[no-untyped-def]
        for _ in range(limit):
            press(Keys.TAB)
            element = browser.switch_to.active_element
            if test(element):
                return element
        raise AssertionError(f"Tab never reached it on {browser.current_url}")

    # the first Tab reaches the skip link, which leads to the page's main part
    press(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("class") == "skip"
    tab_to(lambda e: e.get_attribute("id") == "email")
    from tests.support.webtest import PASSWORD
    press("ada@acme.example", Keys.TAB, PASSWORD)
    browser.execute_script("window.smartbccOldPage = true")
    press(Keys.ENTER)
    wait_for_new_page(browser)
    assert browser.current_url.endswith("/mailbox")
    # to the Sent folder, the message, then a comment on it: Tab, type, Enter
    tab_to(lambda e: e.get_attribute("id") == "folder-sent")
    browser.execute_script("window.smartbccOldPage = true")
    press(Keys.ENTER)
    wait_for_new_page(browser)
    tab_to(lambda e: e.text == "Keyboard question")
    browser.execute_script("window.smartbccOldPage = true")
    press(Keys.ENTER)
    wait_for_new_page(browser)
    assert browser.find_element(*by("id", "subject")).text == "Keyboard question"
    tab_to(lambda e: e.get_attribute("id") == "comment-body", limit=150)
    press("Typed without a mouse")
    tab_to(lambda e: e.get_attribute("id") == "add-comment", limit=3)
    browser.execute_script("window.smartbccOldPage = true")
    press(Keys.ENTER)
    wait_for_new_page(browser)
    assert "Typed without a mouse" in browser.find_element(*by("id", "comments")).text
    assert browser.find_element(*by("css", "p.notice")).text == "Comment added."


def wait_for_new_page(browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "return window.smartbccOldPage === undefined && document.readyState === 'complete'"))
