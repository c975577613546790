"""Atomic file output: readers see the old file or the new one, never a partial one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    The temporary file is flushed to disk, given the usual permissions and renamed over ``path``
    in one step; on any failure it is removed and ``path`` is left as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                     suffix=".tmp")
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, permissions(0o666))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def permissions(mode: int) -> int:
    """``mode`` less the process umask: what a plain open() or mkdir() would have given."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def refuse_inputs(path: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
    """ValueError if ``path`` names one of the ``inputs`` - also through a symlink, a hard link
    or a different relative path - so that an output never replaces what it was made from."""
    for source in inputs:
        if same_file(path, source):
            raise ValueError(f"refusing to write over input file {source}")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (after symlinks; hard links when both exist)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
