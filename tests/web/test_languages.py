"""The user's language through the real web server: the browser's Accept-Language chooses the pages'
language and date format, a user's own choice on the settings page overrides it (and goes back to the
browser's when cleared), and a sign-in code mail speaks its recipient's language."""

from __future__ import annotations

import re

from tests.support.webtest import csrf_of, site_for

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


def test_pages_speak_the_browsers_language_unless_the_user_chose_one(site):
    site.send("Angebot für Bob")
    assert 'lang="de"' in site.client(headers=GERMAN).get("/sign-in").text
    stranger = site.client(headers=GERMAN)
    assert ">Anmelden</button>" in stranger.get("/sign-in").text
    refused = stranger.post("/sign-in", data={"email": "ada@acme.example", "password": "wrong",
                                              "csrf": csrf_of(stranger.get("/sign-in").text)})
    assert refused.status_code == 401 and "Adresse, Passwort oder Code stimmen nicht" in refused.text
    ada = site.sign_in(headers=GERMAN)
    answer = ada.get("/mailbox", params={"folder": "all"})
    inbox = answer.text
    assert answer.headers["content-language"] == "de"
    assert '<html lang="de">' in inbox and ">Posteingang<" in inbox and "Abmelden" in inbox
    assert re.search(r'<time datetime="[^"]+">\d\d\.\d\d\.\d{4}, \d\d:\d\d</time>', inbox), inbox
    settings = ada.get("/settings").text
    assert "Ihre Einstellungen" in settings and '<option value="" selected>die Sprache des Browsers' in settings
    # her own choice wins over the browser's, on every page, until she clears it
    saved = ada.post("/settings/language", data={"csrf": csrf_of(settings), "language": "it"})
    assert saved.status_code == 303
    after = ada.get(saved.headers["location"]).text
    assert '<html lang="it">' in after and "Lingua salvata." in after and "Le tue impostazioni" in after
    assert '<option value="it" lang="it" selected>Italiano' in after
    assert re.search(r">\d{1,2} [a-z]{3} \d{4}, \d\d:\d\d</time>", ada.get("/mailbox", params={"folder": "all"}).text)
    assert ada.post("/settings/language", data={"csrf": csrf_of(after), "language": "fr"}).status_code == 400
    cleared = ada.post("/settings/language", data={"csrf": csrf_of(after), "language": ""})
    assert "Sprache gespeichert." in ada.get(cleared.headers["location"]).text
    # no header, or none we speak: English
    assert '<html lang="en">' in site.sign_in(headers={"Accept-Language": "fr-FR"}).get("/settings").text


def test_a_sign_in_code_mail_speaks_the_users_language_else_the_browsers(settings, smarthost):
    for running in site_for(settings, smarthost=smarthost.address, smarthost_starttls=False):
        ada = running.sign_in()
        ada.post("/settings/language", data={"csrf": csrf_of(ada.get("/settings").text), "language": "it"})
        browser = running.client(headers=GERMAN)
        token = csrf_of(browser.get("/sign-in").text)
        sent = browser.post("/sign-in/code", data={"email": "ada@acme.example", "csrf": token})
        assert "ein Anmeldecode unterwegs" in sent.text           # the page: the browser's language
        browser.post("/sign-in/code", data={"email": "cy@acme.example", "csrf": token})
        italian, german = smarthost.messages
        assert italian["Subject"].startswith("Il tuo codice di accesso a smartbcc: ")
        assert "Inseriscilo nella pagina di accesso" in italian.get_content()
        assert german["Subject"].startswith("Ihr smartbcc-Anmeldecode: ")
        code = re.search(r"Anmeldecode lautet (\d{8})", german.get_content()).group(1)
        assert browser.post("/sign-in", data={"email": "cy@acme.example", "code": code,
                                              "csrf": token}).status_code == 303


def test_the_daily_digest_speaks_its_recipients_language(settings, smarthost):
    from dataclasses import replace
    from datetime import datetime, timezone

    from sqlalchemy import update

    from gateway.crm.kinds import NotificationKind
    from gateway.services.digest import send_digests
    from gateway.services.notifications import notify
    from gateway.store.models import Notification, User
    from tests.support.gwtest import seed, with_db

    planted = seed(settings)
    mailing = replace(settings, smarthost=smarthost.address, smarthost_starttls=False)

    async def work(db):  # type: ignore[no-untyped-def]
        async with db.writing() as session, session.begin():
            await session.execute(update(User).where(User.id == planted.user_id).values(digest=True, language="it"))
            for text in ("Bob replied", "Cy mentioned you"):
                await notify(session, company_id=planted.company_id, user_id=planted.user_id,
                             kind=NotificationKind.MENTION, text=text)
            await session.execute(update(Notification).values(created_at=datetime(2026, 12, 4, 14, 50,
                                                                                   tzinfo=timezone.utc)))
        return await send_digests(db, mailing)

    assert [sent.notifications for sent in with_db(settings, work)] == [2]
    [mail] = smarthost.messages
    assert mail["Subject"] == "smartbcc: 2 nuove notifiche"
    body = mail.get_content()
    assert "Cosa è successo dal tuo ultimo riepilogo" in body and "- 4 dic 2026, 14:50 UTC  Bob replied" in body
    assert "disattiva il riepilogo giornaliero" in body
