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


def attack_shifts(stake_share, reports: np.ndarray, params: Params, epochs: int,
                  entries: slice = slice(None)) -> tuple:
    """The majority-stake attack of §4.1 (eqs 29, 31, 34): how far the consensus moves from the
    honest reputers' mean towards the attacker (last row of ``reports``), averaged over the
    loss-vector ``entries`` (default: all).

    The attacker holds ``stake_share`` of the stake, the others equal stakes. Returns the shift
    with raw stakes, with adjusted stakes (everyone listened to), and after each of ``epochs``
    epochs of listening (the same reports every epoch, last axis). Several attacks run as one
    batch of topics: ``stake_share`` (...) and ``reports`` (..., N_r, entries) broadcast
    against each other, and each attack's numbers are those it has alone.
    """
    share = np.asarray(stake_share, dtype=float)
    n = reports.shape[-2]
    batch = np.broadcast_shapes(share.shape, reports.shape[:-2])
    reports = np.broadcast_to(reports, batch + reports.shape[-2:])
    attacker = np.broadcast_to((n - 1) * share / (1 - share), batch)
    stakes = np.concatenate([np.ones(batch + (n - 1,)), attacker[..., None]], axis=-1)
    honest = reports[..., :-1, :].mean(axis=-2)
    shift = lambda consensus: np.mean((consensus - honest)[..., entries], axis=-1)
    raw = shift(consensus_log_losses(stakes, reports))
    adjusted = shift(consensus_log_losses(adjusted_stakes(np.ones(stakes.shape), stakes),
                                          reports))
    coefficients, listened = np.ones(stakes.shape), []
    for _ in range(epochs):
        coefficients, _ = listening_coefficients(coefficients, stakes, reports, params)
        listened.append(shift(consensus_at(coefficients, stakes, reports, params).consensus))
    return raw, adjusted, np.stack(listened, axis=-1) if listened else np.zeros(batch + (0,))
