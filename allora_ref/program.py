"""The implementation under test as a process, and the bounds on what it may send back.

``allora-ref conform --cmd`` talks to another implementation over JSON lines
(``conformance.py``). Whatever that program does - hang, leave a grandchild holding the pipes,
stop reading its stdin, flood stdout or stderr, write a line of a hundred megabytes, nest JSON a
thousand deep or write a number of five thousand digits - the runner neither hangs nor runs out
of memory nor crashes: the case ends as an error naming the bound, and the program is restarted
for the next case. The bounds:

* the program runs in its own process group, killed as a whole (SIGKILL) on a timeout, on a
  protocol error and at the end, so that no grandchild outlives the run;
* each request is written and its response read without ever blocking on a pipe, within one
  deadline of ``timeout`` seconds for both;
* a response line is at most LINE_LIMIT bytes, and is JSON within the bounds of
  ``vectors.parse_json`` (nesting, number literals) - ``parse_line``, also used for results files;
* of the stderr written while a case runs, the last STDERR_LIMIT bytes are kept.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import time

from allora_ref.vectors import parse_json

#: The longest response line read, in bytes (the largest expected outputs are ~80 kB).
LINE_LIMIT = 4 * 2**20
#: How many bytes of the program's stderr a case's report keeps (the last ones written).
STDERR_LIMIT = 2000
#: How many characters of a message from the program a report shows.
MESSAGE_LIMIT = 500
#: The longest timeout accepted, in seconds (one day).
TIMEOUT_LIMIT = 86400.0
#: How long the program may take to exit after its stdin is closed or its stdout ends.
GRACE = 2.0

_CHUNK = 65536


def parse_line(line: bytes) -> tuple[object, str]:
    """A response line as JSON: (value, "") or (None, what is wrong with it, naming the bound)."""
    if len(line) > LINE_LIMIT:
        return None, f"a line longer than {LINE_LIMIT} bytes (the limit)"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"not UTF-8 (byte {line[error.start]:#04x} at offset {error.start})"
    try:
        return parse_json(text), ""
    except ValueError as error:
        return None, str(error)


_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*"([^"\\]{1,300})"')


def leading_id(line: bytes) -> str | None:
    """The case id at the start of a line that may not parse (``{"id": "...", ...``), if any."""
    match = _ID.match(line[:400])
    return match.group(1).decode("utf-8", "replace") if match else None


# --- text from the program, made safe to show -------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with control characters (ANSI escapes, NUL, line separators, ...) shown as
    ``\\xNN`` / ``\\uNNNN``: safe in a terminal, in XML and on one report line per line."""
    return _CONTROL.sub(lambda m: (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                   else f"\\u{ord(m.group()):04x}"), text)


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


# --- the process ----------------------------------------------------------------------------

def check_timeout(seconds: float) -> None:
    """ValueError unless ``seconds`` is a usable timeout: finite, positive, at most a day."""
    if not 0 < seconds <= TIMEOUT_LIMIT:
        raise ValueError(f"--timeout must be a number of seconds in (0, {TIMEOUT_LIMIT:g}], "
                         f"got {seconds}")


class Program:
    """The implementation under test: one process, started on the first request and restarted
    after a crash, a timeout or a protocol error."""

    def __init__(self, argv: list[str], timeout: float):
        if not argv:
            raise ValueError("--cmd names no program")
        check_timeout(timeout)
        self.argv, self.timeout = argv, timeout
        self.process: subprocess.Popen | None = None
        self.answered: set[str] = set()
        """The ids of the cases answered so far (in any process)."""
        self.answered_twice: set[str] = set()
        """The answered cases whose response came again later."""

    def _start(self) -> None:
        try:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True)
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot start {self.argv[0]}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
        self.selector = selectors.DefaultSelector()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            os.set_blocking(stream.fileno(), False)
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.selector.register(self.process.stderr, selectors.EVENT_READ)
        self.pending = b""                 # stdout read but not yet a whole line
        self.stdout_open = True
        self.stdin_open = True
        self.stderr_tail = b""
        self.stderr_bytes = 0

    def ask(self, message: dict) -> tuple[dict | None, str, str]:
        """Send one request: (response or None, problem or "", stderr written meanwhile)."""
        if self.process is None:
            self._start()
        self.stderr_tail, self.stderr_bytes = b"", 0
        deadline = time.monotonic() + self.timeout
        data = memoryview((json.dumps(message) + "\n").encode("utf-8"))
        identifier = message["id"]
        while True:
            line = self._line()
            if line is not None:
                response, problem = parse_line(line)
                if problem:
                    self._kill()
                    return None, f"protocol error: {problem}", self._stderr()
                if (isinstance(response, dict) and response.get("id") in self.answered
                        and response.get("id") != identifier):
                    self.answered_twice.add(response["id"])
                    continue
                problem = protocol_problem(response, identifier)
                if problem:
                    self._kill()
                    return None, f"protocol error: {problem}", self._stderr()
                self.answered.add(identifier)
                stderr = self._stderr()
                if data:                   # answered before reading the whole request
                    self._kill()
                return response, "", stderr
            if len(self.pending) > LINE_LIMIT:
                self._kill()
                return None, (f"protocol error: more than {LINE_LIMIT} bytes without a newline "
                              "(the limit of a response line)"), self._stderr()
            if not self.stdout_open:
                status = self._end(deadline)
                return None, f"the program exited with status {status} before responding", \
                    self._stderr()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                return None, f"no response within {self.timeout:g} s (the program was killed)", \
                    self._stderr()
            data = self._exchange(data, remaining)

    def _line(self) -> bytes | None:
        """The next whole line of stdout read so far, if any."""
        end = self.pending.find(b"\n")
        if end < 0:
            return None
        line, self.pending = self.pending[:end], self.pending[end + 1:]
        return line

    def _exchange(self, data: memoryview, remaining: float) -> memoryview:
        """Wait at most ``remaining`` s for the pipes; write what stdin takes of ``data``, read
        what stdout and stderr have. Returns what is left to write."""
        want_write = bool(data) and self.stdin_open
        if want_write:
            self.selector.register(self.process.stdin, selectors.EVENT_WRITE)
        try:
            events = self.selector.select(min(remaining, 1.0))
        finally:
            if want_write:
                self.selector.unregister(self.process.stdin)
        for key, _ in events:
            if key.fileobj is self.process.stdin:
                try:
                    data = data[os.write(self.process.stdin.fileno(), data[:_CHUNK]):]
                except BlockingIOError:
                    pass
                except OSError:            # the program is gone or closed its stdin
                    self.stdin_open = False
            else:
                self._read(key.fileobj)
        return data

    def _read(self, stream) -> None:
        try:
            chunk = os.read(stream.fileno(), _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(stream)
            if stream is self.process.stdout:
                self.stdout_open = False
        elif stream is self.process.stdout:
            self.pending += chunk
        else:
            self.stderr_bytes += len(chunk)
            self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_LIMIT:]

    def _stderr(self) -> str:
        text = printable(self.stderr_tail.decode("utf-8", "replace"))
        if self.stderr_bytes > len(self.stderr_tail):
            return f"... ({self.stderr_bytes} bytes written, the last {STDERR_LIMIT} kept)\n" \
                + text
        return text

    def _exited(self) -> bool:
        """Whether the program has exited (without reaping it, so its group stays known)."""
        try:
            return os.waitid(os.P_PID, self.process.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _end(self, deadline: float) -> int:
        """Wait a little for the program to exit (reading stderr), then end it: its status."""
        until = min(deadline, time.monotonic() + GRACE)
        while not self._exited() and time.monotonic() < until:
            self._exchange(memoryview(b""), min(0.05, max(until - time.monotonic(), 0)))
        return self._kill()

    def _kill(self) -> int | None:
        """Kill the program's whole process group and close the pipes: its exit status."""
        process, self.process = self.process, None
        if process is None:
            return None
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.selector.close()
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        return process.wait()

    def stop(self) -> None:
        """End the program: close its stdin, note late repeated answers, kill what lingers."""
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.stdin_open = False
        deadline = time.monotonic() + min(self.timeout, GRACE)
        while (self.stdout_open and time.monotonic() < deadline
               and len(self.pending) <= LINE_LIMIT):
            exited = self._exited()        # read once more after the exit: what was left
            self._exchange(memoryview(b""), 0.0 if exited else
                           min(0.05, max(deadline - time.monotonic(), 0.0)))
            if exited:
                break
        while (line := self._line()) is not None:
            response, _ = parse_line(line)
            if isinstance(response, dict) and response.get("id") in self.answered:
                self.answered_twice.add(response["id"])
        self._end(deadline)


def protocol_problem(response, identifier: str) -> str:
    """What is wrong with a response to case ``identifier`` ("" if nothing)."""
    if not isinstance(response, dict):
        return "a response must be a JSON object"
    if response.get("id") != identifier:
        return f"the response's id {shorten(repr(response.get('id')), 200)} is not the " \
               f"request's {identifier!r}"
    answers = [key for key in ("outputs", "error", "skip") if key in response]
    if len(answers) != 1:
        return "a response holds exactly one of outputs, error, skip"
    if "outputs" in response and not isinstance(response["outputs"], dict):
        return "outputs must be a JSON object"
    for key in ("error", "skip"):
        if key in response and not (isinstance(response[key], str) and response[key].strip()):
            return f"{key} must be a non-empty string (the {'message' if key == 'error' else 'reason'})"
    return ""
