"""Input checks at the boundary of the spec: a clear ValueError naming the quantity and equation."""

from __future__ import annotations

import numpy as np


def checked_array(value, quantity: str, equation: str, ndim: int | None = None,
                  absent_allowed: bool = False) -> np.ndarray:
    """``value`` as a float array, or ValueError if it has the wrong rank, is infinite, or is NaN.

    With ``absent_allowed`` a NaN entry is accepted and means "not submitted / not reported"
    (partial participation); infinities are always rejected.
    """
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{quantity} ({equation}) must be numeric") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{quantity} ({equation}) must have {ndim} dimension(s), "
                         f"got shape {array.shape}")
    if np.isinf(array).any():
        raise ValueError(f"{quantity} ({equation}) must be finite, got an infinity")
    if not absent_allowed and np.isnan(array).any():
        raise ValueError(f"{quantity} ({equation}) must not contain NaN")
    return array


def check_shape(array: np.ndarray, shape: tuple[int, ...], quantity: str, equation: str) -> None:
    """ValueError unless ``array`` has exactly ``shape``."""
    if array.shape != shape:
        raise ValueError(f"{quantity} ({equation}) must have shape {shape}, got {array.shape}")


def check_non_negative(array: np.ndarray, quantity: str, equation: str) -> None:
    """ValueError if any entry of ``array`` is negative."""
    if (array < 0).any():
        raise ValueError(f"{quantity} ({equation}) must be non-negative")
