"""Serving and signing in: passwords, mailed codes, sessions, CSRF, rate limits, headers, proxies."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.support.webtest import PASSWORD, csrf_of, site_for



def test_a_password_signs_in_with_a_server_side_httponly_cookie(site):
    client = site.client()
    assert client.get("/mailbox").headers["location"].startswith("/sign-in")
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"email": "Ada@Acme.Example", "password": PASSWORD,
                                             "csrf": csrf_of(page.text), "next": "/mailbox"})
    assert response.status_code == 303 and response.headers["location"] == "/mailbox"
    cookie = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "smartbcc_session" in v][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie   # plain http here
    mailbox = client.get("/mailbox")
    assert mailbox.status_code == 200 and "ada@acme.example" in mailbox.text


def test_wrong_password_unknown_address_and_no_password_get_one_answer(site):
    answers = set()
    for email, password in (("ada@acme.example", "wrong password"), ("nobody@acme.example", PASSWORD),
                            ("bob@customer.example", PASSWORD)):
        client = site.client()
        page = client.get("/sign-in")
        response = client.post("/sign-in", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
        assert response.status_code == 401
        answers.add(re.search(r'id="sign-in-error">([^<]+)<', response.text).group(1))
    assert len(answers) == 1


def test_a_sign_in_form_without_its_csrf_token_or_from_another_site_is_refused(site):
    client = site.client()
    page = client.get("/sign-in")
    assert client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD}).status_code == 403
    assert client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD, "csrf": csrf_of(page.text)},
                       headers={"Origin": "https://evil.example"}).status_code == 403


def test_every_post_of_a_signed_in_user_needs_the_session_csrf_token(site):
    client = site.sign_in()
    assert client.post("/folders", data={"name": "Deals"}).status_code == 403
    token = csrf_of(client.get("/mailbox").text)
    assert client.post("/folders", data={"name": "Deals", "csrf": "x" + token}).status_code == 403
    assert client.post("/folders", data={"name": "Deals", "csrf": token}).status_code == 303


@pytest.mark.parametrize("site", [{"web_sign_in_attempts": 3}], indirect=True)
def test_failed_sign_ins_are_limited_per_address_even_for_the_right_password(site):
    client = site.client()
    token = csrf_of(client.get("/sign-in").text)
    codes = [client.post("/sign-in", data={"email": "ada@acme.example", "password": f"wrong {n}", "csrf": token}
                         ).status_code for n in range(3)]
    assert codes == [401, 401, 401]
    right = client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD, "csrf": token})
    assert right.status_code == 429 and "too many failed sign-ins" in right.text
    other = site.sign_in("cy@acme.example")           # another address from the same client is still let in
    assert other.get("/mailbox").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_user(site):
    first, second = site.sign_in(), site.sign_in()
    token = csrf_of(first.get("/mailbox").text)
    assert first.post("/sign-out", data={"csrf": token, "everywhere": "1"}).status_code == 303
    assert first.get("/mailbox").status_code == 303 and second.get("/mailbox").status_code == 303


def test_sign_out_ends_only_this_session(site):
    first, second = site.sign_in(), site.sign_in()
    first.post("/sign-out", data={"csrf": csrf_of(first.get("/mailbox").text)})
    assert first.get("/mailbox").status_code == 303 and second.get("/mailbox").status_code == 200


def test_deactivating_a_user_ends_their_sessions_and_their_tokens(site):
    client = site.sign_in()
    runner = CliRunner()
    made = runner.invoke(cli, ["--database-url", site.settings.effective_database_url, "token", "create",
                               "ada@acme.example", "--json"])
    token = __import__("json").loads(made.output)["token"]
    api = site.client(headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/messages").status_code == 200
    done = runner.invoke(cli, ["--database-url", site.settings.effective_database_url, "user", "deactivate",
                               "ada@acme.example"])
    assert done.exit_code == 0, done.output
    assert client.get("/mailbox").status_code == 303
    assert api.get("/api/v1/messages").status_code == 401
    runner.invoke(cli, ["--database-url", site.settings.effective_database_url, "user", "activate", "ada@acme.example"])
    assert client.get("/mailbox").status_code == 303      # the old session stays ended


def test_every_page_carries_a_strict_content_security_policy_and_safe_headers(site):
    client = site.sign_in()
    for path in ("/sign-in", "/mailbox", "/messages/999999", "/static/app.css", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "same-origin"
    page = client.get("/mailbox").text
    assert "<script>" not in page and 'src="/static/app.js"' in page


def test_the_script_and_the_style_sheet_ship_in_the_package(site):
    client = site.client()
    assert "check-all" in client.get("/static/app.js").text
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("site", [{"web_trusted_proxies": "127.0.0.1/32", "web_sign_in_attempts": 1}], indirect=True)
def test_forwarded_headers_from_a_trusted_proxy_set_the_client_and_https(site):
    client = site.client(headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})
    page = client.get("/sign-in")
    pre = page.headers["set-cookie"]
    assert "Secure" in pre      # so the client (on plain http behind the "proxy") is handed it by hand:
    response = client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD,
                                             "csrf": csrf_of(page.text)}, headers={"Cookie": pre.split(";")[0]})
    cookie = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "smartbcc_session" in v][0]
    assert "Secure" in cookie and response.headers["strict-transport-security"]
    # failures are counted for the forwarded client, not for the proxy: another client is not locked out
    for _ in range(3):
        failed = client.post("/sign-in", data={"email": "nobody@x.example", "password": "x", "csrf": csrf_of(page.text)},
                             headers={"Cookie": pre.split(";")[0]})
        assert failed.status_code in (401, 429)
    assert failed.status_code == 429
    other = site.client(headers={"X-Forwarded-For": "203.0.113.9"})
    token = csrf_of(other.get("/sign-in").text)
    assert other.post("/sign-in", data={"email": "cy@acme.example", "password": PASSWORD, "csrf": token}).status_code == 303


def test_forwarded_headers_from_anyone_else_are_ignored(site):
    client = site.client(headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD,
                                             "csrf": csrf_of(page.text)})
    cookie = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "smartbcc_session" in v][0]
    assert "Secure" not in cookie and "strict-transport-security" not in response.headers


@pytest.mark.parametrize("site", [{"web_base_path": "/mail"}], indirect=True)
def test_a_base_path_prefixes_every_route_link_and_cookie(site):
    client = site.client()
    page = client.get("/sign-in")
    assert page.status_code == 200 and 'action="/mail/sign-in"' in page.text and '"/mail/static/app.css"' in page.text
    response = client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert response.headers["location"] == "/mail/mailbox"
    assert "Path=/mail" in response.headers["set-cookie"]
    assert client.get("/mailbox").status_code == 200
    outside = site.client(base_url=site.base.removesuffix("/mail"))
    assert outside.get("/mailbox").status_code == 404


def test_the_next_page_after_sign_in_stays_on_this_site(site):
    client = site.client()
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"email": "ada@acme.example", "password": PASSWORD,
                                             "csrf": csrf_of(page.text), "next": "//evil.example/x"})
    assert response.headers["location"] == "/mailbox"


def test_a_one_time_code_mailed_through_the_smarthost_signs_in_once(settings, smarthost):
    for running in site_for(settings, smarthost=smarthost.address, smarthost_starttls=False):
        client = running.client()
        token = csrf_of(client.get("/sign-in").text)
        assert client.post("/sign-in/code", data={"email": "ada@acme.example", "csrf": token}).status_code == 200
        assert client.post("/sign-in/code", data={"email": "nobody@acme.example", "csrf": token}).status_code == 200
        assert [env[1] for env in smarthost.envelopes] == [["ada@acme.example"]]
        code = re.search(r"code is (\d{8})", smarthost.messages[0].get_content()).group(1)
        signed = client.post("/sign-in", data={"email": "ada@acme.example", "code": code, "csrf": token})
        assert signed.status_code == 303 and client.get("/mailbox").status_code == 200
        again = running.client()
        token = csrf_of(again.get("/sign-in").text)
        assert again.post("/sign-in", data={"email": "ada@acme.example", "code": code, "csrf": token}).status_code == 401


def test_set_password_and_tokens_from_the_command_line(site):
    runner = CliRunner()
    url = ["--database-url", site.settings.effective_database_url]
    short = runner.invoke(cli, [*url, "user", "set-password", "cy@acme.example", "--password-file", "-"], input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    done = runner.invoke(cli, [*url, "user", "set-password", "cy@acme.example", "--password-file", "-"],
                         input="a new long password\n")
    assert done.exit_code == 0, done.output
    site.sign_in("cy@acme.example", "a new long password")
    made = runner.invoke(cli, [*url, "token", "create", "cy@acme.example", "--name", "script", "--json"])
    secret = __import__("json").loads(made.output)["token"]
    listed = runner.invoke(cli, [*url, "token", "list", "--json"])
    assert secret not in listed.output and '"name": "script"' in listed.output
    token_id = __import__("json").loads(listed.output)[0]["id"]
    api = site.client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/messages").status_code == 200
    assert runner.invoke(cli, [*url, "token", "revoke", str(token_id)]).exit_code == 0
    assert api.get("/api/v1/messages").status_code == 401


def test_a_login_that_is_not_an_address_is_just_a_wrong_sign_in(site):
    client = site.client()
    token = csrf_of(client.get("/sign-in").text)
    for email in ("not an address", "a@@b", "@", ""):
        assert client.post("/sign-in", data={"email": email, "password": "x", "csrf": token}).status_code == 401
