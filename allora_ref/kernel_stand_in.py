"""The stand-in for a kernel forked by the warm process (``allora_ref.warm_kernels``).

``python -I -S kernel_stand_in.py SOCKET -f CONNECTION ...``: hands the arguments of
``ipykernel_launcher``, working directory, environment and standard streams to the warm
process listening on ``SOCKET``, which forks the kernel; forwards the signals it gets to the
kernel and exits with the kernel's exit status. The kernel manager that started it sees an
ordinary kernel process. The standard library only, so that it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def request(argv: list[str]) -> bytes:
    """The request: a length-prefixed JSON object (argv, cwd, env)."""
    body = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    return len(body).to_bytes(8, "big") + body


def main(argv: list[str]) -> int:
    """Start the kernel ``argv[1:]`` in the warm process at ``argv[0]``; its exit status."""
    path, command = argv[0], argv[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as warm:
        warm.connect(path)
        socket.send_fds(warm, [request(command)], [0, 1, 2])
        replies = warm.makefile("r")
        kernel = int(replies.readline())
        for number in FORWARDED:
            signal.signal(number, lambda received, _: os.kill(kernel, received))
        status = replies.readline()
    return int(status) if status else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
