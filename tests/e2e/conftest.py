"""End-to-end: a real browser (Playwright driving Debian's chromium) against a live server.

Each test module gets its own server on its own copy of one instance folder: a SQLite database with the demo
loaded (`flask db upgrade`, then `marketplace demo`, which writes the demo users), built once per run; jobs
in-process, as `make run` does. Every module's server listens on the same port, one after another, because
the demo's certificate names its issuer and its log by the base URL it was issued under.
Tests find fields and buttons by their labels and accessible names, as people and screen readers do.
Screenshots go to $E2E_ARTIFACTS (default tests/e2e/artifacts).

Never `playwright install`: the browser is /usr/bin/chromium (`apt-get install -y chromium`). Without
it these tests skip, unless E2E_REQUIRED=1 (set by .ci/run), when they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live:
    """A running server: its base URL, its instance folder, the demo users, and its CLI."""

    def __init__(self, tmp: Path, port: int | None = None):
        self.instance = tmp
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "MARKETPLACE_INSTANCE_PATH": str(tmp), "MARKETPLACE_BASE_URL": self.url,
                    "DATABASE_URL": f"sqlite:///{tmp / 'marketplace.db'}", "SECRET_KEY": "e2e-secret",
                    "MARKETPLACE_RATELIMIT_LOGIN_PER_ADDRESS": "10000/minute",
                    "MARKETPLACE_RATELIMIT_VERIFY_PER_ADDRESS": "10000/minute",
                    "MARKETPLACE_SCHEDULER_THREAD": "1", "MARKETPLACE_LOG_LEVEL": "WARNING"}
        for var in ("REDIS_URL", "FLASK_APP"):
            self.env.pop(var, None)
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run([*FLASK, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def prepare(self) -> Live:
        self.cli("db", "upgrade")
        self.cli("marketplace", "demo")
        return self

    def start(self) -> Live:
        self.log = open(self.instance / "server.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([*FLASK, "run", "--host", "127.0.0.1", "--port", str(self.port)], cwd=ROOT,
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError("the live server did not start:\n" + (self.instance / "server.log").read_text())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    @property
    def credentials(self) -> dict:
        return json.loads((self.instance / "demo-credentials.json").read_text())

    def user(self, short: str) -> dict:
        """The demo user of an organization by its short name (fsa, bafin, sfc, sakura, rhein, victoria, tokio,
        harbour, nova): {"email", "password", "organization": {...}}."""
        for u in self.credentials["users"]:
            if u["email"] == f"{short}@demo.example":
                return u
        raise KeyError(short)

    def server_log(self) -> str:
        return (self.instance / "server.log").read_text()


@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory) -> Live:
    """The instance folder every module's server copies: migrated, the demo loaded, never served itself."""
    return Live(tmp_path_factory.mktemp("demo-instance")).prepare()


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: past TIME_WAIT
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _serve_a_copy(demo_instance: Live, folder: Path) -> Live | None:
    """A server on a copy of the demo instance, on the demo's port; None when the port is taken, found before
    or when the server could not bind it (another process may take a free port at any moment)."""
    if not _port_is_free(demo_instance.port):
        return None
    shutil.copytree(demo_instance.instance, folder, dirs_exist_ok=True)
    server = Live(folder, demo_instance.port)
    try:
        return server.start()
    except RuntimeError:
        server.stop()
        if "Address already in use" in server.server_log():
            return None
        raise


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_instance):
    server = _serve_a_copy(demo_instance, tmp_path_factory.mktemp("live"))
    if server is None:  # something else took the port since: this module builds its own instance on another
        server = Live(tmp_path_factory.mktemp("live")).prepare().start()
    yield server
    server.stop()
    assert "Traceback" not in server.server_log(), server.server_log()[-4000:]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); E2E_REQUIRED=1 makes this fail")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live):
    """A fresh browser context (no cookies) in English, pointed at the module's live server."""
    context = browser.new_context(base_url=live.url, locale="en-US", accept_downloads=True)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page, live: Live, short: str) -> None:
    user = live.user(short)
    page.goto("/login")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    try:  # waits for the page the sign-in lands on: the login page is still there until it arrives
        expect(page).not_to_have_url(re.compile("/login"))
    except AssertionError:
        raise AssertionError(f"sign-in as {short} failed: {page.content()[:500]}") from None


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
