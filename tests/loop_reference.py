"""An independent loop oracle for one synthesis epoch (whitepaper §3.1-3.2, eqs 3-18).

Written as plain per-worker Python loops over scalars and lists (``math`` only), from the paper
and the prose of ``notebooks/03_1_inference_synthesis.py`` / ``03_2_confidence_intervals.py``,
without importing any spec function. numpy is used only to pack the results at the end. The
vectorised spec (``synthesise`` + ``settle`` + ``confidence_interval`` of the network row) must
agree with :func:`loop_epoch`; ``tests/test_loop_reference.py`` checks it, and
``tests/bench_synthesis.py`` times both.

Conventions (from the notebooks' prose):

* NaN = absent (not submitted / not reported / no regret yet).
* Worker columns l: inferers j first, then forecasters k.
* Combination rows: 0 network, 1 naive, 2 + l one-out of worker l, 2 + N_l + k one-in of k.
* Loss vector: network, naive, inferers, forecasters, one-out forecast-implied (k major,
  j minor), one-out network (l), one-in (k).
* Weights: phi'(x) = p / (exp(-p (x - c)) + 1) (eq 7) evaluated through its logarithm and scaled
  by the row's largest weight, so that a row whose weights all underflow in float64 keeps its
  exact-arithmetic ratios (the `whitepaper` profile's remedy); the scale cancels in eqs 3, 9, 17.
"""

from __future__ import annotations

import math

import numpy as np

from allora_ref.params import Params

NAN = float("nan")


def _isnan(value: float) -> bool:
    return value != value


# --- small scalar helpers -----------------------------------------------------------------------

def _mean(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / len(values)


def _std(values: list[float], ddof: int) -> float:
    """Standard deviation with ``ddof``; 0 when there are not more than ddof values (eqs 8, 11)."""
    n = len(values)
    if n <= ddof or n == 0:
        return 0.0
    mean = _mean(values)
    squares = 0.0
    for v in values:
        squares += (v - mean) * (v - mean)
    return math.sqrt(squares / (n - ddof))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return NAN
    if n % 2 == 1:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (position q (n - 1) in the sorted values)."""
    ordered = sorted(values)
    h = q * (len(ordered) - 1)
    lo = int(math.floor(h))
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def _softplus(z: float) -> float:
    """ln(1 + e^z) without overflow."""
    if z > 0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


def _log_phi_prime(x: float, p: float, c: float) -> float:
    """ln of eq 7: ln p - ln(exp(-p (x - c)) + 1)."""
    return math.log(p) - _softplus(-p * (x - c))


def _weighted_average(values: list[float], weights: list[float]) -> float:
    """Eqs 3, 9, 14: sum w v / sum w over positive weights; NaN if there is no positive weight."""
    numerator, total = 0.0, 0.0
    for v, w in zip(values, weights):
        if w > 0:
            numerator += w * v
            total += w
    if total <= 0:
        return NAN
    return numerator / total


# --- eqs 5-8, 10-11: regrets -> weights ---------------------------------------------------------

def _regret_weights(regrets: list[float], params: Params) -> list[float]:
    """Weights phi'(R / (sigma(R) + epsilon)) of the members' regrets, largest = 1."""
    p, c = params.p, params.c
    sigma = _std(regrets, params.sigma_ddof)
    xs = [r / (sigma + params.epsilon) for r in regrets]
    alive = [True] * len(xs)
    if params.regret_guard_rails:
        # cap at c + 6.75/p; shift all up if the largest is below c - 8.25/p; cut below c - 17.25/p
        cap = c + params.regret_cap / p
        xs = [min(x, cap) for x in xs]
        best = -math.inf
        for x in xs:
            if x > best:
                best = x
        floor = c - params.regret_shift / p
        if best < floor:
            xs = [x + (floor - best) for x in xs]
        cutoff = c - params.regret_cutoff / p
        alive = [x >= cutoff for x in xs]
    logs = [_log_phi_prime(x, p, c) if ok else -math.inf for x, ok in zip(xs, alive)]
    top = -math.inf
    for lw in logs:
        if lw > top:
            top = lw
    return [math.exp(lw - top) if ok else 0.0 for lw, ok in zip(logs, alive)]


# --- eqs 3-8: forecast-implied inferences -------------------------------------------------------

def _forecast_implied(inferences: list[float], forecasts: list[float], previous: float,
                      params: Params) -> float:
    """I_ik of one forecaster (eqs 3-8), members = inferers with an inference and a forecast."""
    members = [j for j in range(len(inferences))
               if not _isnan(inferences[j]) and not _isnan(forecasts[j])]
    if not members:
        return NAN
    values = [inferences[j] for j in members]
    if _isnan(previous):                                   # cold start: no L_{i-1}
        if params.cold_start == "chain":
            return _median(values)
        return _weighted_average(values, [1.0] * len(values))
    regrets = [previous - forecasts[j] for j in members]   # eq 4
    return _weighted_average(values, _regret_weights(regrets, params))


# --- initial regrets ----------------------------------------------------------------------------

def _initial_regret(known: list[float], params: Params) -> float:
    """Regret of a worker with none yet, from the known regrets of the same row."""
    if params.initial_regret == "zero" or not known:
        return 0.0
    sigma = _std(known, params.sigma_ddof)
    return _quantile(known, params.initial_regret_quantile) + (
        params.c - params.initial_regret_offset / params.p) * (sigma + params.epsilon)


# --- eqs 16-18: weighted quantiles --------------------------------------------------------------

def _weighted_quantile(values: list[float], weights: list[float], q: float, ends: str) -> float:
    order = sorted(range(len(values)), key=lambda i: values[i])   # stable
    xs = [values[i] for i in order]
    ws = [weights[i] for i in order]
    n = len(xs)
    if n == 1:
        return xs[0]
    cumulative, running = [], 0.0
    for w in ws:                                           # eq 16
        running += w
        cumulative.append(running)
    total = cumulative[-1]
    cdf = [(cumulative[i] - 0.5 * ws[i]) / total for i in range(n)]   # eq 17
    if ends == "clamp":
        if q <= cdf[0]:
            return xs[0]
        if q >= cdf[-1]:
            return xs[-1]
    ell = 0                                                # largest index with C <= q
    for i in range(n):
        if cdf[i] <= q:
            ell = i
    ell = min(ell, n - 2)                                  # "extrapolate": end segments
    gap = cdf[ell + 1] - cdf[ell]
    if gap <= 0:                                           # only beyond the ends, zero weights
        return xs[ell]
    return xs[ell] + (q - cdf[ell]) / gap * (xs[ell + 1] - xs[ell])   # eq 18


# --- one epoch ----------------------------------------------------------------------------------

def loop_epoch(state_regrets, previous_network_log_loss, inferences, forecasted_log_losses,
               stakes, reported_log_losses, params: Params) -> dict:
    """One synthesis epoch (eqs 3-18) as loops; the same outputs as synthesise + settle + CI.

    Returns a dict with ``forecasted_regrets`` (N_f, N_i), ``forecast_implied`` (N_f,),
    ``one_out_forecast_implied`` (N_i, N_f), ``values``/``members``/``weights`` (rows, N_l),
    ``combined`` (rows,), ``confidence`` (percentiles,), ``losses`` (loss vector),
    ``regrets`` (rows, N_l) and ``previous_network_log_loss`` (of the next epoch).
    """
    own = [float(v) for v in inferences]
    forecasts = [[float(v) for v in row] for row in forecasted_log_losses]
    previous = float(previous_network_log_loss)
    state = [[float(v) for v in row] for row in state_regrets]
    n_i, n_f = len(own), len(forecasts)
    n_l = n_i + n_f
    n_rows = 2 + n_l + n_f

    # eq 4
    forecasted_regrets = [[previous - forecasts[k][j] for j in range(n_i)] for k in range(n_f)]
    # eqs 3-8
    forecast_implied = [_forecast_implied(own, forecasts[k], previous, params)
                        for k in range(n_f)]
    # §3.1 item 2: forecast-implied inferences recomputed without inferer j
    one_out_fi = []
    for j in range(n_i):
        withheld = list(own)
        withheld[j] = NAN
        one_out_fi.append([_forecast_implied(withheld, forecasts[k], previous, params)
                           for k in range(n_f)])

    # eqs 9-11 and the secondary inferences: one row each
    def family(r: int, l: int) -> bool:
        if r == 1:                                  # naive: inferers only
            return l < n_i
        if r >= 2 + n_l:                            # one-in of forecaster k: inferers and k
            return l < n_i or l == n_i + (r - 2 - n_l)
        return True                                 # network, one-out

    values, members, weights, combined = [], [], [], []
    for r in range(n_rows):
        row_values = own + forecast_implied
        if 2 <= r < 2 + n_i:                        # one-out of inferer j: recomputed I_ik
            row_values = own + one_out_fi[r - 2]
        row_members = [family(r, l) and not _isnan(row_values[l])
                       and not (2 <= r < 2 + n_l and l == r - 2) for l in range(n_l)]
        cols = [l for l in range(n_l) if row_members[l]]
        member_known = [l for l in cols if not _isnan(state[r][l])]
        family_known = [state[r][l] for l in range(n_l)
                        if family(r, l) and not _isnan(state[r][l])]
        row_weights = [0.0] * n_l
        cold = not member_known
        if r == 0:
            network_cold = cold
        if params.secondary_weights == "network-weights" and r > 0:
            cold = network_cold                     # the network row's weights, others zeroed
            row_weights = [weights[0][l] if row_members[l] else 0.0 for l in range(n_l)]
        elif cold:                                  # cold start of this row
            for l in cols:
                if params.cold_start == "equal-weights" or l < n_i:
                    row_weights[l] = 1.0
        else:
            start = _initial_regret(family_known, params)
            regrets = [start if _isnan(state[r][l]) else state[r][l] for l in cols]
            for l, w in zip(cols, _regret_weights(regrets, params)):
                row_weights[l] = w
        if cold and params.cold_start == "chain" and _isnan(previous) and cols:
            combined.append(_median([row_values[l] for l in cols if l < n_i]))
        else:
            combined.append(_weighted_average([row_values[l] for l in cols],
                                              [row_weights[l] for l in cols]))
        values.append(row_values)
        members.append(row_members)
        weights.append(row_weights)

    # eqs 16-18 on the network row
    network_cols = [l for l in range(n_l) if members[0][l]]
    if network_cols:
        confidence = [_weighted_quantile([values[0][l] for l in network_cols],
                                         [weights[0][l] for l in network_cols],
                                         percentile / 100.0, params.ci_ends)
                      for percentile in params.ci_percentiles]
    else:
        confidence = [NAN] * len(params.ci_percentiles)

    # eq 14: stake-weighted log-losses, entry by entry
    reported = [[float(v) for v in row] for row in reported_log_losses]
    stake = [float(s) for s in stakes]
    n_entries = len(reported[0]) if reported else 0
    losses = []
    for e in range(n_entries):
        entry_values, entry_weights = [], []
        for m in range(len(stake)):
            if not _isnan(reported[m][e]):
                entry_values.append(reported[m][e])
                entry_weights.append(stake[m])
        losses.append(_weighted_average(entry_values, entry_weights))

    # eq 15: each row's own loss and each worker's loss in the row
    base_fi = 2 + n_l                               # one-out forecast-implied block
    base_rows = base_fi + n_f * n_i                 # one-out network, then one-in
    row_loss = [losses[0], losses[1]] + [losses[base_rows + t] for t in range(n_l + n_f)]
    new_regrets = []
    alpha = params.alpha_regret
    for r in range(n_rows):
        worker_loss = [losses[2 + l] for l in range(n_l)]
        if 2 <= r < 2 + n_i:
            j = r - 2
            for k in range(n_f):
                worker_loss[n_i + k] = losses[base_fi + k * n_i + j]
        in_family = [family(r, l) for l in range(n_l)]
        known = [state[r][l] for l in range(n_l) if in_family[l] and not _isnan(state[r][l])]
        start = _initial_regret(known, params)
        row = []
        for l in range(n_l):
            old = state[r][l]
            if in_family[l] and not _isnan(worker_loss[l]) and not _isnan(row_loss[r]):
                before = start if _isnan(old) else old
                row.append(alpha * (row_loss[r] - worker_loss[l]) + (1 - alpha) * before)
            else:
                row.append(old)
        new_regrets.append(row)

    next_previous = losses[0] if not _isnan(losses[0]) else previous

    def pack(rows, width, dtype=float):
        return np.array(rows, dtype=dtype).reshape(len(rows), width)

    return {
        "forecasted_regrets": pack(forecasted_regrets, n_i),
        "forecast_implied": np.array(forecast_implied, dtype=float),
        "one_out_forecast_implied": pack(one_out_fi, n_f),
        "values": pack(values, n_l),
        "members": pack(members, n_l, bool),
        "weights": pack(weights, n_l),
        "combined": np.array(combined, dtype=float),
        "confidence": np.array(confidence, dtype=float),
        "losses": np.array(losses, dtype=float),
        "regrets": pack(new_regrets, n_l),
        "previous_network_log_loss": float(next_previous),
    }
