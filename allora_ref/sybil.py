"""Sybil splits of one task class (§4.2, eqs 37 and 40): what the modified entropy does when a
participant's reward is shared among copies of it.

Not the mechanism: the §4.2 notebook and the claims ledger use these to measure it.
"""

from __future__ import annotations

import numpy as np

from allora_ref.params import Params
from allora_ref.spec.task_rewards import effective_number, modified_entropy


SYBIL_DISTRIBUTIONS = {
    "equal, N = 5": (0.2, 0.2, 0.2, 0.2, 0.2),
    "graded, N = 5": (0.35, 0.25, 0.2, 0.12, 0.08),
    "one dominant, N = 5": (0.8, 0.05, 0.05, 0.05, 0.05),
    "equal, N = 20": (0.05,) * 20,
}
"""Reward distributions of one class on which the sybil claim of §4.2 is measured."""


def split_fractions(fractions, copies: int) -> np.ndarray:
    """The reward fractions after the largest participant splits into ``copies`` copies that
    share its fraction equally (the copies last)."""
    f = np.asarray(fractions, dtype=float)
    who = int(np.argmax(f))
    return np.concatenate([np.delete(f, who), np.full(copies, f[who] / copies)])


def sybil_split(fractions, copies: int, params: Params) -> tuple[float, float]:
    """The sybil claim of §4.2 (eqs 37, 40): the largest participant of a class splits into
    ``copies`` copies that share its fraction equally (``split_fractions``).

    Returns the modified entropy after the split relative to before (with ``params.beta_entropy``)
    and the beta at which the entropy would be unchanged (solved in closed form).
    """
    f = np.asarray(fractions, dtype=float)
    split = split_fractions(f, copies)
    ratio = (modified_entropy(split, effective_number(split), params)
             / modified_entropy(f, effective_number(f), params))
    h0, h1 = -np.sum(f * np.log(f)), -np.sum(split * np.log(split))
    r0, r1 = effective_number(f) / f.size, effective_number(split) / split.size
    return float(ratio), float(np.log(h0 / h1) / np.log(r1 / r0))


def sybil_premise(fractions, copies: int, params: Params) -> float:
    """The modified entropy (eq 37) after the split over before under the paper's premise that a
    sybil "would increase the number of participants while keeping their effective number
    approximately constant": N_eff (eq 40) held at its value before the split."""
    f = np.asarray(fractions, dtype=float)
    n_effective = effective_number(f)
    return float(modified_entropy(split_fractions(f, copies), n_effective, params)
                 / modified_entropy(f, n_effective, params))
