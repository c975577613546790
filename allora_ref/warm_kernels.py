"""Jupyter kernels forked from one warm process, so that the report notebooks' common imports are
paid once per ``make reports``, not once per notebook.

A kernel started the usual way spends about a second starting IPython and one to three more
importing numpy, sympy and matplotlib before its first cell runs. The reports runner instead
starts one warm process (``warm_process``) that imports them and then forks a fresh kernel for
each notebook. Every notebook still runs in a kernel process of its own, all started from the
same state: no notebook code ever runs in the warm process.

Papermill starts such a kernel through ``WarmKernelManager``: the kernel's usual command line is
run by a stand-in (``allora_ref/kernel_stand_in.py``) that hands it, with its standard streams,
working directory and environment, to the warm process over a Unix socket; the warm process
forks the kernel and reports its exit status back, and kills it if the stand-in dies.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

STAND_IN = Path(__file__).with_name("kernel_stand_in.py")
SOCKET_VARIABLE = "ALLORA_REF_WARM_KERNELS"
# What ipykernel itself sets before the notebook imports matplotlib: figures shown inline.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# Imported once in the warm process: the kernel itself and the heavy modules of the notebooks.
# (Not matplotlib.pyplot: it binds the inline backend to the IPython shell of the kernel that
# imports it first.)
WARM_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "sympy", "mpmath",
                "matplotlib.figure", "matplotlib.backends.backend_agg",
                "matplotlib.backends.backend_pdf", "allora_ref.params", "allora_ref.spec.epoch",
                "allora_ref.spec.token_emission", "allora_ref.spec.topic_rewards",
                "allora_ref.experiment", "allora_ref.figures", "allora_ref.synthesis_table",
                "allora_ref.claims")
LAUNCHER = ["-m", "ipykernel_launcher"]
READY = "ready"


class WarmKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels are forked by the warm process named in the environment
    variable ``ALLORA_REF_WARM_KERNELS`` (the path of its socket)."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        starts = [i for i in range(len(command) - 1) if command[i:i + 2] == LAUNCHER]
        if not starts:
            raise ValueError(f"kernel {self.kernel_name!r} is not started by ipykernel_launcher: "
                             f"{command}")
        return [sys.executable, "-I", "-S", str(STAND_IN), os.environ[SOCKET_VARIABLE],
                *command[starts[0] + len(LAUNCHER):]]


def received(connection: socket.socket) -> tuple[list[int], dict]:
    """The stand-in's standard streams (file descriptors) and its request."""
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    size = int.from_bytes(data[:8], "big")
    data = data[8:]
    while len(data) < size:
        more = connection.recv(size - len(data))
        if not more:
            raise ConnectionError("the stand-in closed its connection mid-request")
        data += more
    return fds, json.loads(data)


def run_kernel(fds: list[int], request: dict) -> int:
    """In the forked child: become the kernel of ``request``; its exit status."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["JPY_PARENT_PID"] = str(os.getppid())   # the kernel watches the warm process
    if sys.path and sys.path[0] == "":
        del sys.path[0]                                 # as ipykernel_launcher does
    argv = request["argv"]
    sys.argv = ["ipykernel_launcher", *argv]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def fork_kernel(connection: socket.socket, listener: socket.socket,
                kernels: dict[int, socket.socket]) -> int:
    """Fork the kernel that the stand-in on ``connection`` asks for; its process id."""
    fds, request = received(connection)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.setsid()                 # as jupyter_client starts a kernel: a session of its own
            signal.signal(signal.SIGINT, signal.default_int_handler)   # as a fresh interpreter
            for open_socket in (listener, connection, *kernels.values()):
                open_socket.close()
            status = run_kernel(fds, request)
        finally:
            os._exit(status)
    for fd in fds:
        os.close(fd)
    return pid


def serve(path: str) -> None:
    """The warm process: import ``WARM_MODULES``, then fork a kernel for each stand-in that
    connects to the socket ``path``, until terminated or until the runner that started it is
    gone (then its kernels and its socket go too, as plain kernels end with their parent)."""
    runner = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the runner's, which ends this
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in WARM_MODULES:
        importlib.import_module(module)
    kernels: dict[int, socket.socket] = {}          # kernel pid -> its stand-in's connection
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen()
        print(READY, flush=True)
        while os.getppid() == runner:
            readable, _, _ = select.select([listener, *kernels.values()], [], [], 0.05)
            for ready in readable:
                if ready is listener:
                    connection, _ = listener.accept()
                    pid = fork_kernel(connection, listener, kernels)
                    kernels[pid] = connection
                    connection.sendall(f"{pid}\n".encode())
                else:                               # the stand-in is gone: so is its kernel
                    pid = next(p for p, c in kernels.items() if c is ready)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            for pid, connection in list(kernels.items()):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    with contextlib.suppress(OSError):
                        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                    connection.close()
                    del kernels[pid]
        for pid in kernels:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.rmdir(os.path.dirname(path))


@contextlib.contextmanager
def warm_process() -> Iterator[None]:
    """Run the warm process for the duration of the block, its socket named in the environment
    (so that processes forked meanwhile, and the kernels they start, find it)."""
    with tempfile.TemporaryDirectory(prefix="allora-ref-kernels-") as folder:
        path = os.path.join(folder, "socket")
        process = subprocess.Popen(
            [sys.executable, "-c", f"from allora_ref.warm_kernels import serve; serve({path!r})"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        try:
            if process.stdout.readline().strip() != READY:
                raise RuntimeError(f"the warm kernel process did not start (exit status "
                                   f"{process.wait()})")
            previous = os.environ.get(SOCKET_VARIABLE)
            os.environ[SOCKET_VARIABLE] = path
            try:
                yield
            finally:
                if previous is None:
                    del os.environ[SOCKET_VARIABLE]
                else:
                    os.environ[SOCKET_VARIABLE] = previous
        finally:
            process.terminate()
            process.wait()
            process.stdout.close()
