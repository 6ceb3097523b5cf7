"""Headless Chromium (Debian ``chromium``) driven by Playwright, and live loopback servers.

``browser`` launches the system Chromium once per session (never ``playwright install``); a
missing binary skips on a developer's machine and FAILS under CI=true. ``serve(app)`` runs an ASGI
app with uvicorn on 127.0.0.1 and a free port, in a thread, until the test ends.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

from tests.conftest import backend_unavailable

CHROMIUM = os.environ.get("IDP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """A headless Chromium shared by the browser tests. Package scope, not session: Playwright's sync
    API keeps an event loop marked running in the main thread while it lives, and the tests after
    this package call ``asyncio.run`` there."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        backend_unavailable("Chromium", f"{CHROMIUM} not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        backend_unavailable("Playwright", str(exc))
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - any launch failure means "unavailable"
            backend_unavailable("Chromium", str(exc).splitlines()[0])
        yield launched
        launched.close()


@pytest.fixture
def browser_context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (own cookies) for one test; JavaScript on."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 420, "height": 860})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: Any) -> Any:
    """A tab in ``browser_context`` that records Content-Security-Policy violations in ``page.csp_errors``."""
    tab = browser_context.new_page()
    tab.csp_errors = []
    tab.on("console", lambda msg: tab.csp_errors.append(msg.text) if "Content Security Policy" in msg.text
           else None)
    return tab


class LiveServer:
    """One uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app) -> base URL``; every server started is stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> str:
        server = LiveServer(app)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
