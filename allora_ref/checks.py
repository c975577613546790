"""Input checks at the boundary of the spec: a clear ValueError naming the quantity and equation."""

from __future__ import annotations

import contextvars
import functools
import math
import re

import numpy as np


def checked_array(value, quantity: str, equation: str, ndim: int | None = None,
                  absent_allowed: bool = False, batched: bool = False) -> np.ndarray:
    """``value`` as a float array, or ValueError if it has the wrong rank, is infinite, or is NaN.

    With ``absent_allowed`` a NaN entry is accepted and means "not submitted / not reported"
    (partial participation); infinities are always rejected. With ``batched``, ``ndim`` counts
    the trailing axes only: leading batch axes (one topic per index) are allowed.
    """
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{quantity} ({equation}) must be numeric") from None
    if ndim is not None and (array.ndim < ndim if batched else array.ndim != ndim):
        raise ValueError(f"{quantity} ({equation}) must have {ndim} dimension(s)"
                         f"{' after its batch axes' if batched else ''}, got shape {array.shape}")
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


def per_topic(value, batch: tuple[int, ...], quantity: str, equation: str) -> np.ndarray:
    """A per-topic number (one per index of the leading ``batch`` axes; one number serves every
    topic) as a float array of shape ``batch``, or ValueError if the shapes do not fit."""
    array = np.asarray(value, dtype=float)
    try:
        return np.broadcast_to(array, batch)
    except ValueError:
        raise ValueError(f"{quantity} ({equation}) must have one value per topic, shape {batch}, "
                         f"got shape {array.shape}") from None


def in_topic(bad: np.ndarray) -> str:
    """Where a per-topic check failed, for its message: " in topic b of the batch" for the first
    topic b where ``bad`` (shape: the batch axes) holds, "" for a single topic (shape ())."""
    if bad.ndim == 0:
        return ""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f" in topic {index[0] if len(index) == 1 else index} of the batch"


_EQUATIONS = re.compile(r"\b[Ee]qs? \d+(?:\s*(?:-|,|and)\s*\d+)*")


def float64_guarded(function):
    """Decorator for a spec function: never a silent NaN or infinity, never a RuntimeWarning.

    The function's numpy arithmetic raises on overflow, invalid operations (inf - inf, 0 / 0)
    and division by zero (underflow to 0 is exact enough and allowed); such a failure, or an
    infinite number in the result, becomes a ValueError that names the quantity (the function)
    and the equations its docstring cites: the inputs lie beyond what float64 can compute.
    An inner guarded function names its own equations first. A guarded call made inside another
    one runs under the outer call's floating-point state instead of entering its own.
    """
    found = _EQUATIONS.search(function.__doc__ or "")
    if found is None:
        raise TypeError(f"{function.__name__}: a guarded function's docstring cites its equations")
    where = f"{function.__name__.replace('_', ' ')} ({found.group().lower()})"

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        outermost = not _INSIDE_GUARD.get()
        token = _INSIDE_GUARD.set(True) if outermost else None
        try:
            if outermost:
                with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                    result = function(*args, **kwargs)
            else:
                result = function(*args, **kwargs)
        except (FloatingPointError, OverflowError, ZeroDivisionError) as error:
            raise ValueError(f"{where} cannot be computed in float64 for these inputs "
                             f"({_reason(error)})") from None
        finally:
            if outermost:
                _INSIDE_GUARD.reset(token)
        if _infinite(result):
            raise ValueError(f"{where} is infinite for these inputs (beyond float64)")
        return result
    return guarded


_INSIDE_GUARD = contextvars.ContextVar("inside_float64_guard", default=False)
"""Whether a guarded call is running in this context (thread, task)."""


def _reason(error: Exception) -> str:
    text = str(error).lower()
    for word, reason in (("overflow", "overflow"), ("invalid", "an undefined operation"),
                         ("divide", "a division by zero"), ("zero", "a division by zero"),
                         ("range", "overflow")):
        if word in text:
            return reason
    return text


def _infinite(value) -> bool:
    """Whether an infinity is among the numbers of ``value`` (arrays, numbers, tuples,
    dataclasses of them). Small arrays are checked together, in one pass."""
    small: list[np.ndarray] = []
    if _infinite_large(value, small):
        return True
    if not small:
        return False
    largest = np.fmax.reduce(np.abs(np.concatenate(small)), initial=0.0)   # NaN is passed over
    return bool(largest == np.inf)


SMALL_ARRAY = 256
"""Arrays up to this size are gathered and checked together by ``_infinite``."""


def _infinite_large(value, small: list) -> bool:
    """Whether an infinity is among the large float arrays and the numbers of ``value``; its
    small float arrays are appended, flattened, to ``small``. (Exact types are tested first:
    this runs on every guarded call.)"""
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            return False
        if value.size > SMALL_ARRAY:
            return bool(np.isinf(value).any())
        small.append(value.ravel())
        return False
    if kind is float or kind is np.float64 or isinstance(value, (float, np.floating)):
        return math.isinf(value)
    if kind is tuple or kind is list or isinstance(value, (tuple, list)):
        items = value
    elif hasattr(kind, "__dataclass_fields__"):              # a dataclass instance
        items = vars(value).values()
    else:
        return False
    for item in items:
        if _infinite_large(item, small):
            return True
    return False
