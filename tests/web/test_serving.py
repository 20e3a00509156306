"""`smartbcc web` as a process: serves the mailbox, stops on SIGTERM, and says so when it cannot listen."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.gwtest import free_port, wait_listening


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBCC_")}
    env["SMARTBCC_DATA_DIR"] = str(tmp_path / "data")
    return env


def _smartbcc(*args: str) -> list[str]:
    return [sys.executable, "-c", "from gateway.cli import main; main()", *args]


def test_smartbcc_web_serves_the_sign_in_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run(_smartbcc("init"), env=env, check=True, capture_output=True, timeout=60)
    port, log = free_port(), tmp_path / "web.log"
    with log.open("w") as out:
        process = subprocess.Popen(_smartbcc("web", "--port", str(port)), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_listening(process, port, log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            page = client.get("/sign-in")
            assert page.status_code == 200 and "Login address" in page.text
            assert "server" not in page.headers                  # no server banner
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert f"web mailbox on http://127.0.0.1:{port}/" in log.read_text()


def test_smartbcc_web_says_when_it_cannot_listen(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run(_smartbcc("init"), env=env, check=True, capture_output=True, timeout=60)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(_smartbcc("web", "--port", str(port)), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr or "address already in use" in done.stderr.lower(), done.stderr


ROOT = Path(__file__).resolve().parents[2]


def test_scripts_serve_starts_smtp_and_web_together_prints_both_and_stops_both(tmp_path: Path) -> None:
    env = _env(tmp_path)
    smtp, web = free_port(), free_port()
    env.update(SMARTBCC_PORT=str(smtp), SMARTBCC_WEB_PORT=str(web), PYTHON=sys.executable)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listening(process, web, log, seconds=120)
        wait_listening(process, smtp, log, seconds=30)
        assert f"SMTP on 127.0.0.1:{smtp}, web mailbox on http://127.0.0.1:{web}/" in log.read_text()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        for port in (smtp, web):
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
