"""Benchmark one synthesis epoch against the loop reference, and the full epoch step (§3 + §4).

Run by ``make bench`` as ``python tests/bench_synthesis.py`` (not a pytest module). One epoch is
``synthesise`` + ``settle`` + the network confidence interval, i.e. every secondary inference
(one-out forecast-implied inferences, one-out and one-in rows), the stake-weighted losses and
every row's regrets, on the same seeded inputs (numpy.random.default_rng(0)) for both. Prints a
Markdown table and whether the target is met; ``--profile`` prints where the vectorised time goes.
A second table times ``allora_ref.spec.epoch.step`` (inferences to per-participant rewards and the
next state) in both profiles.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from allora_ref.params import load_profile  # noqa: E402
from allora_ref.spec.epoch import EpochInputs, TopicState, step  # noqa: E402
from allora_ref.spec.inference_synthesis import (  # noqa: E402
    Submissions, SynthesisState, loss_vector_size)
from loop_reference import loop_epoch  # noqa: E402
from shared import spec_epoch  # noqa: E402

SIZES = [(5, 3, 5), (64, 16, 16), (256, 64, 32)]
# repeats (vectorised, loop) per size: fewer loop repeats at the largest size
REPEATS = {(5, 3, 5): (200, 20), (64, 16, 16): (30, 3), (256, 64, 32): (15, 3)}
TARGET_SIZE, TARGET_SECONDS, TARGET_SPEEDUP = (256, 64, 32), 0.2, 20.0
STEP_TARGET_SECONDS = 0.5


def epoch_inputs(n_i: int, n_f: int, n_r: int) -> dict:
    """A mid-life epoch (every worker has regrets, the previous loss is known), seeded."""
    rng = np.random.default_rng(0)
    n_l = n_i + n_f
    previous = float(rng.normal(-1.0, 0.5))
    return dict(
        state_regrets=rng.normal(0.0, 0.3, (2 + n_l + n_f, n_l)),
        previous_network_log_loss=previous,
        inferences=rng.normal(0.0, 1.0, n_i),
        forecasted_log_losses=previous + rng.normal(0.0, 0.5, (n_f, n_i)),
        stakes=rng.uniform(1.0, 10.0, n_r),
        reported_log_losses=rng.normal(-1.0, 1.0, (n_r, loss_vector_size(n_i, n_f))),
    )


def step_inputs(inputs: dict, params) -> tuple[TopicState, EpochInputs]:
    """The same epoch as a topic state with a score history, for the full step."""
    rng = np.random.default_rng(1)
    n_f, n_i = inputs["forecasted_log_losses"].shape
    stakes = inputs["stakes"]
    depth = params.score_window
    state = TopicState(
        SynthesisState(inputs["previous_network_log_loss"], inputs["state_regrets"]), stakes,
        rng.uniform(0.5, 1.0, stakes.size), rng.normal(0, 0.1, (depth, n_i)),
        rng.normal(0, 0.1, (depth, n_f)),
        tuple(rng.dirichlet(np.ones(n)) for n in (n_i, n_f, stakes.size)), 0.5)
    submissions = Submissions(inputs["inferences"], inputs["forecasted_log_losses"])
    return state, EpochInputs(submissions, inputs["reported_log_losses"], 1000.0)


def seconds_per_epoch(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="allora-simulator",
                        help="parameter profile (default: allora-simulator)")
    parser.add_argument("--cprofile", action="store_true",
                        help="also print a cProfile of the vectorised epoch at the largest size")
    args = parser.parse_args()
    params = load_profile(args.profile)

    print(f"Seconds per synthesis epoch (synthesise + settle + CI), profile {args.profile}, "
          f"median of repeats\n")
    print("| (N_i, N_f, N_r) | vectorised s/epoch | loop s/epoch | speed-up |")
    print("|---|---:|---:|---:|")
    results = {}
    for size in SIZES:
        inputs = epoch_inputs(*size)
        vec_repeats, loop_repeats = REPEATS[size]
        spec_epoch(inputs, params)                      # warm-up
        vec = seconds_per_epoch(lambda: spec_epoch(inputs, params), vec_repeats)
        loop = seconds_per_epoch(lambda: loop_epoch(params=params, **inputs), loop_repeats)
        results[size] = (vec, loop)
        print(f"| {size} | {vec:.4g} | {loop:.4g} | {loop / vec:.0f}x |", flush=True)

    vec, loop = results[TARGET_SIZE]
    met = vec < TARGET_SECONDS and loop / vec >= TARGET_SPEEDUP
    print(f"\nTarget {TARGET_SIZE} under {TARGET_SECONDS} s per epoch and at least "
          f"{TARGET_SPEEDUP:.0f}x faster than the loops: {'MET' if met else 'NOT MET'} "
          f"({vec:.3g} s, {loop / vec:.0f}x)")

    print("\nSeconds per full epoch step (§3 + §4: inferences to rewards and next state)\n")
    print("| (N_i, N_f, N_r) | whitepaper s/epoch | allora-simulator s/epoch |")
    print("|---|---:|---:|")
    step_seconds = {}
    for size in SIZES:
        cells = []
        for name in ("whitepaper", "allora-simulator"):
            profile = load_profile(name)
            state, epoch = step_inputs(epoch_inputs(*size), profile)
            step(state, epoch, profile)                          # warm-up
            cells.append(seconds_per_epoch(lambda: step(state, epoch, profile),
                                           REPEATS[size][0] // 3 + 1))
        step_seconds[size] = max(cells)
        print(f"| {size} | {cells[0]:.4g} | {cells[1]:.4g} |", flush=True)
    step_met = step_seconds[TARGET_SIZE] < STEP_TARGET_SECONDS
    print(f"\nTarget {TARGET_SIZE} full step under {STEP_TARGET_SECONDS} s per epoch: "
          f"{'MET' if step_met else 'NOT MET'} ({step_seconds[TARGET_SIZE]:.3g} s)")

    if args.cprofile or not met:
        inputs = epoch_inputs(*TARGET_SIZE)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            spec_epoch(inputs, params)
        profiler.disable()
        print(f"\ncProfile of 5 vectorised epochs at {TARGET_SIZE}:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
