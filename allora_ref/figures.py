"""Figures written atomically and reproducibly: the same figure gives byte-identical files."""

from __future__ import annotations

import io
import os

from matplotlib.figure import Figure

from allora_ref.atomic import write_bytes_atomic

#: Run-dependent metadata removed from each format (creation date, library version).
METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}}


def save_figure(figure: Figure, stem: str | os.PathLike, formats=("png", "pdf"),
                dpi: int = 150) -> dict[str, bytes]:
    """Write ``figure`` as ``stem.png`` and ``stem.pdf`` (each replaced atomically); the bytes
    written, by format (a notebook shows the PNG file rather than drawing the figure again)."""
    written = {}
    for fmt in formats:
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, metadata=METADATA[fmt], dpi=dpi)
        written[fmt] = buffer.getvalue()
        write_bytes_atomic(f"{os.fspath(stem)}.{fmt}", written[fmt])
    return written
