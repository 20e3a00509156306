"""Debian's chromium, driven through Selenium by Debian's chromedriver, headless, with a fresh profile;
and a loopback HTTP listener that records every request, to prove what a page did not fetch."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,900")


@pytest.fixture(scope="module", name="browser")
def module_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One chromium for a test module (its tests then share one xdist worker: tests/conftest.py); a module
    takes it with ``from tests.support.browser import module_browser, sqlite_backend``."""
    yield from chromium(tmp_path_factory.mktemp("chromium-profile"))


@pytest.fixture(name="backend")
def sqlite_backend() -> str:
    """The browser tests run on the embedded default (the pages are the same on PostgreSQL)."""
    return "sqlite"


def chromium(profile: Path) -> Iterator[object]:
    """Generator for a fixture: one browser, quit at the end. Skips (saying why) without chromium."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("chromium and chromium-driver are not installed (scripts/test installs them as root; "
                    "else: sudo apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_page_load_timeout(20)
    try:
        yield browser
    finally:
        browser.quit()


class Listener:
    """A loopback HTTP server that answers 200 to anything and keeps each path it was asked for."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "Listener":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
