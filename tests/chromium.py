"""Headless Chromium driven over the DevTools protocol on a pipe (no extra package, no port).

``Browser().visit(url)`` loads a page with the network emulated offline, waits until MathJax
has typeset it, and returns what the page shows and every request it made.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def chromium() -> str | None:
    """The Chromium executable, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


# What a page shows once typeset: rendered math, MathJax errors, raw TeX left, links.
SHOWN = """JSON.stringify({
  math: document.querySelectorAll(".MathJax, .MathJax_Display").length,
  errors: document.querySelectorAll(".MathJax_Error, merror").length,
  raw: /\\$\\$|\\\\frac|\\\\sum/.test(document.body.innerText),
  links: Array.from(document.querySelectorAll("a[href]"), a => a.href)})"""


@dataclass
class Visit:
    """One page load: what it shows, the requests it made, the ones that failed."""

    shown: dict
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class Browser:
    """One headless Chromium; use as a context manager."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="allora-chromium-")
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def pipes_on_3_and_4():
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", "--window-size=1200,900", "--hide-scrollbars",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=pipes_on_3_and_4)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self._events = b"", 0, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result (events met meanwhile are kept)."""
        self._id += 1
        command = {"id": self._id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        os.write(self._write, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._message(deadline)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self._events.append(message)

    def visit(self, url: str, screenshot: bool = False) -> Visit:
        """Load ``url`` offline, wait for the typesetting, report what was shown and requested."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Network.enable", session)
        self.call("Network.emulateNetworkConditions", session, offline=True, latency=0,
                  downloadThroughput=-1, uploadThroughput=-1)
        self._events = []
        self.call("Page.navigate", session, url=url)
        deadline = time.monotonic() + self.timeout
        while self.call("Runtime.evaluate", session, returnByValue=True, expression=
                        "document.documentElement.getAttribute('data-math')")["result"].get(
                            "value") != "typeset":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: the math was not typeset in {self.timeout} s")
            time.sleep(0.2)
        shown = json.loads(self.call("Runtime.evaluate", session, expression=SHOWN,
                                     returnByValue=True)["result"]["value"])
        visit = Visit(shown)
        urls = {}
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                if params["request"]["url"] == "about:blank":   # an empty frame of MathJax's
                    continue
                urls[params["requestId"]] = params["request"]["url"]
                visit.requests.append(params["request"]["url"])
            elif event.get("method") == "Network.loadingFailed" and params["requestId"] in urls:
                visit.failed.append(f"{urls.get(params['requestId'], '?')}: {params['errorText']}")
        if screenshot:
            visit.screenshot = base64.b64decode(self.call("Page.captureScreenshot", session,
                                                          format="png")["data"])
        self.call("Target.closeTarget", targetId=target)
        return visit
