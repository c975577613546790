"""Attacks on the reputers' consensus (§4.1, eqs 29-34): dishonest reports against honest ones,
measured through the mechanism's adjusted stakes, consensus and listening coefficients.

Not the mechanism: the spec notebooks and the claims ledger use these to measure it.
"""

from __future__ import annotations

import numpy as np

from allora_ref.params import Params
from allora_ref.spec.participant_rewards import (
    adjusted_stakes, consensus_at, consensus_log_losses, listening_coefficients)


def attack_reports(rng: np.random.Generator, n_honest: int = 4, entries: int = 21,
                   level: float = -2.0, noise: float = 0.02, offset: float = 1.0,
                   attacked: int | None = None) -> np.ndarray:
    """The attack measured in §4.1 (eqs 30-31): ``n_honest`` reputers report log-losses
    N(level, noise) for ``entries`` entries; the last row, the attacker, reports the honest mean
    shifted by ``offset`` on its first ``attacked`` entries (None: all of them) and the honest
    mean on the others. Shape (n_honest + 1, entries).

    A negative ``offset`` on a few entries is the paper's attack: a misreport that makes
    favoured workers look better."""
    honest = rng.normal(level, noise, size=(n_honest, entries))
    shift = np.zeros(entries)
    shift[:entries if attacked is None else attacked] = offset
    return np.vstack([honest, honest.mean(axis=0) + shift])


def attack_shifts(stake_share: float, reports: np.ndarray, params: Params, epochs: int,
                  entries: slice = slice(None)) -> tuple[float, float, np.ndarray]:
    """The majority-stake attack of §4.1 (eqs 29, 31, 34): how far the consensus moves from the
    honest reputers' mean towards the attacker (last row of ``reports``), averaged over the
    loss-vector ``entries`` (default: all).

    The attacker holds ``stake_share`` of the stake, the others equal stakes. Returns the shift
    with raw stakes, with adjusted stakes (everyone listened to), and after each of ``epochs``
    epochs of listening (the same reports every epoch).
    """
    n = reports.shape[0]
    stakes = np.append(np.ones(n - 1), (n - 1) * stake_share / (1 - stake_share))
    honest = reports[:-1].mean(axis=0)
    shift = lambda consensus: float(np.mean((consensus - honest)[entries]))
    raw = shift(consensus_log_losses(stakes, reports))
    adjusted = shift(consensus_log_losses(adjusted_stakes(np.ones(n), stakes), reports))
    coefficients, listened = np.ones(n), []
    for _ in range(epochs):
        coefficients, _ = listening_coefficients(coefficients, stakes, reports, params)
        listened.append(shift(consensus_at(coefficients, stakes, reports, params).consensus))
    return raw, adjusted, np.array(listened)
