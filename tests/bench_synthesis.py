"""Benchmark the epoch step: a synthesis epoch against the loop reference, each part of the full
step at four sizes with peak memory and the fitted exponent, and the one-out kernel against a
compiled loop of the same algorithm.

Run by ``make bench`` as ``python tests/bench_synthesis.py`` (not a pytest module; speed stays
out of the tests). Inputs are seeded (numpy.random.default_rng(0)): a mid-life epoch in which
every worker has regrets and the previous loss is known.

1. One synthesis epoch (``synthesise`` + ``settle`` + the network confidence interval) against
   the loop oracle of ``tests/loop_reference.py``, where the loops can run.
2. ``allora_ref.spec.epoch.step`` split into its parts (synthesis, of which the one-out
   forecast-implied kernel; confidence interval; settle; reputers, i.e. the listening ascent and
   consensus; the rest), the fitted exponent of the step's time in N_i at N_f = N_i / 4, and the
   peak memory of one step (tracemalloc, which sees numpy's allocations).
3. The one-out kernel at (N_i, N_f) = (512, 128) in ns per (withheld inferer, forecaster, member)
   element against ``tests/one_out_kernel.c``, compiled here with gcc -O3 -march=native into a
   temporary directory and called through ctypes (skipped with one line if gcc is missing).
4. The cost of an epoch of the §3.3 experiment, which the figures, the claims ledger and the
   tests all pay: CPU seconds of ``simulate(Settings(epochs=300), profile)`` for every profile,
   split into its parts by CPU timers around the parts' functions (synthesis, the eq 34 listening
   loop and its iterations, the reputers' consensus, settle, confidence interval, the rest of the
   step, the float64 guard's scan of results, the experiment's own draws), and the §4.1
   majority-stake attack (``attacks.attack_shifts``, listening only). CPU seconds, not wall-clock:
   steadier on a shared machine; the smallest of ``--rounds`` runs.
5. The claims ledger's way of running the experiment: ``BATCH_RUNS`` runs of 300 epochs one at
   a time (``simulate``) against the same runs as batches of 1, 4, 12 and 24 topics
   (``simulate_batch``, the numbers of each run unchanged), CPU seconds per run.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from allora_ref import attacks, checks, experiment  # noqa: E402
from allora_ref.params import PROFILES, load_profile  # noqa: E402
from allora_ref.spec import epoch as epoch_module  # noqa: E402
from allora_ref.spec import participant_rewards  # noqa: E402
from allora_ref.spec.confidence_intervals import confidence_interval  # noqa: E402
from allora_ref.spec.epoch import EpochInputs, TopicState, reputer_outcome, step  # noqa: E402
from allora_ref.spec.inference_synthesis import (  # noqa: E402
    OneOutWeights, Submissions, SynthesisState, forecasted_regrets, loss_vector_size, loss_vectors,
    one_out_forecast_implied_inferences, reported_entries, settle, synthesise)
from loop_reference import loop_epoch  # noqa: E402
from shared import spec_epoch  # noqa: E402

LOOP_SIZES = [(5, 3, 5), (64, 16, 16), (256, 64, 32)]
STEP_SIZES = LOOP_SIZES + [(1024, 256, 32)]
BIG_SIZE = (2048, 512, 128)
KERNEL_SIZE = (512, 128)
LOOP_REPEATS = {(5, 3, 5): (200, 20), (64, 16, 16): (30, 3), (256, 64, 32): (10, 2)}
STEP_REPEATS = {(5, 3, 5): 100, (64, 16, 16): 20, (256, 64, 32): 5, (1024, 256, 32): 1,
                BIG_SIZE: 1}
TARGETS = {"kernel ratio to the compiled loop": 5.0, "peak MiB of a step at (1024, 256, 32)": 1024,
           "CPU s of a 300-epoch whitepaper simulate": 0.7, "CPU s per run in batches of 24": 0.25}
SIMULATE_EPOCHS = 300
BATCH_RUNS = 24
BATCH_SIZES = (1, 4, 12, 24)
#: The parts of a simulate run: (module, function) -> part. A part's time includes the parts
#: called inside it; the table subtracts them.
SIMULATE_PARTS = {
    (experiment, "synthesise"): "synthesis",
    (experiment, "step"): "step",
    (epoch_module, "listening_coefficients"): "listening",
    (epoch_module, "consensus_at"): "consensus",
    (epoch_module, "settle"): "settle",
    (epoch_module, "confidence_interval"): "CI",
    (checks, "_infinite"): "guard scans",
}


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
    reported = inputs["reported_log_losses"][:, reported_entries(n_i, n_f, params)]
    return state, EpochInputs(submissions, reported, 1000.0)


def seconds(run, repeats: int, best: bool = False) -> float:
    """Median (or with ``best``, shortest) wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) if best else statistics.median(times)


def peak_mib(run) -> float:
    """Peak traced memory of one call, in MiB."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def loop_table(params) -> None:
    print("| (N_i, N_f, N_r) | vectorised s/epoch | loop s/epoch | speed-up |")
    print("|---|---:|---:|---:|")
    for size in LOOP_SIZES:
        inputs = epoch_inputs(*size)
        vec_repeats, loop_repeats = LOOP_REPEATS[size]
        spec_epoch(inputs, params)                      # warm-up
        vec = seconds(lambda: spec_epoch(inputs, params), vec_repeats)
        loop = seconds(lambda: loop_epoch(params=params, **inputs), loop_repeats)
        print(f"| {size} | {vec:.4g} | {loop:.4g} | {loop / vec:.2g}x |", flush=True)


def step_parts(size: tuple[int, int, int], params) -> dict[str, float]:
    """Seconds per call of each part of the step, the whole step, and its peak MiB."""
    state, epoch = step_inputs(epoch_inputs(*size), params)
    submissions, reported = epoch.submissions, epoch.reported_log_losses
    repeats = STEP_REPEATS[size]
    synthesis = state.synthesis
    inferred = synthesise(synthesis, submissions, params)
    network = inferred.members[0]
    n_i, n_f = submissions.n_inferers, submissions.n_forecasters
    reported = loss_vectors(reported, n_i, n_f, params)      # the profile's layout, as step does
    parts = {
        "one-out kernel": seconds(lambda: one_out_forecast_implied_inferences(
            submissions.inferences, submissions.forecasted_log_losses,
            synthesis.previous_network_log_loss, params), repeats),
        "synthesise": seconds(lambda: synthesise(synthesis, submissions, params), repeats),
        "CI": seconds(lambda: confidence_interval(inferred.values[0, network],
                                                  inferred.weights[0, network], params), repeats),
        "settle": seconds(lambda: settle(synthesis, inferred, state.stakes, reported, params),
                          repeats),
        "reputers": seconds(lambda: reputer_outcome(state, reported, n_i, n_f, params), repeats),
        "step": seconds(lambda: step(state, epoch, params), repeats),
    }
    parts["rest"] = parts["step"] - sum(parts[k] for k in ("synthesise", "CI", "settle",
                                                           "reputers"))
    parts["peak MiB"] = peak_mib(lambda: step(state, epoch, params))
    return parts


def step_table(sizes, params) -> dict:
    columns = ["synthesise", "one-out kernel", "CI", "settle", "reputers", "rest", "step",
               "peak MiB"]
    print("| (N_i, N_f, N_r) | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    results = {}
    for size in sizes:
        parts = step_parts(size, params)
        results[size] = parts
        cells = [f"{parts[c]:.0f}" if c == "peak MiB" else f"{parts[c]:.3g}" for c in columns]
        print(f"| {size} | " + " | ".join(cells) + " |", flush=True)
    return results


def fitted_exponent(results: dict) -> float:
    """Least-squares slope of log(step seconds) against log(N_i), sizes with N_f = N_i / 4."""
    points = [(n_i, parts["step"]) for (n_i, n_f, _), parts in results.items() if 4 * n_f == n_i]
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def compiled_kernel(directory: Path):
    """tests/one_out_kernel.c built with gcc -O3 -march=native, or None without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    library = directory / "one_out_kernel.so"
    subprocess.run([gcc, "-O3", "-march=native", "-ffast-math", "-fopenmp-simd", "-fPIC",
                    "-shared", str(HERE / "one_out_kernel.c"), "-o", str(library), "-lm"],
                   check=True)
    kernel = ctypes.CDLL(str(library)).one_out
    array = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    kernel.argtypes = [ctypes.c_size_t, ctypes.c_size_t] + [array] * 7
    kernel.restype = None
    return kernel


def kernel_comparison(params, profile: str) -> float | None:
    """ns per element of the one-out kernel in numpy and compiled; returns their ratio."""
    n_i, n_f = KERNEL_SIZE
    inputs = epoch_inputs(n_i, n_f, 1)
    own, forecasts = inputs["inferences"], inputs["forecasted_log_losses"]
    previous = inputs["previous_network_log_loss"]
    elements = n_i * n_f * n_i
    numpy_result = one_out_forecast_implied_inferences(own, forecasts, previous, params)
    numpy_ns = seconds(lambda: one_out_forecast_implied_inferences(own, forecasts, previous,
                                                                   params), 7, best=True) / elements * 1e9
    print(f"one-out kernel at (N_i, N_f) = {KERNEL_SIZE}, profile {profile}: "
          f"numpy {numpy_ns:.2f} ns per element")
    with tempfile.TemporaryDirectory() as directory:
        kernel = compiled_kernel(Path(directory))
        if kernel is None:
            print("compiled loop: skipped (no gcc on this machine)")
            return None
        members = ~np.isnan(own) & ~np.isnan(forecasts)
        terms = OneOutWeights.of(forecasted_regrets(previous, forecasts), members, params)
        regrets = np.where(members, terms.ranked, 0.0)
        cap = np.inf if terms.cap is None else terms.cap
        slope, cap, floor = (np.ascontiguousarray(np.broadcast_to(a, (n_i, n_f, 1))[..., 0])
                             for a in (terms.slope, np.minimum(cap, 1e300), terms.floor))
        compiled_result = np.empty((n_i, n_f))

        def run():
            kernel(n_i, n_f, regrets, members.astype(float), own, slope, cap, floor,
                   compiled_result)

        compiled_ns = seconds(run, 7, best=True) / elements * 1e9
    difference = float(np.max(np.abs(compiled_result - numpy_result)))
    ratio = numpy_ns / compiled_ns
    print(f"compiled loop (gcc -O3 -march=native, vector exp): {compiled_ns:.2f} ns per element "
          f"({int(terms.general.sum())} of {terms.general.size} rows in the general form, "
          f"computed as the rest); largest difference from numpy {difference:.1e}; "
          f"numpy / compiled = {ratio:.2f}")
    return ratio


def timed_parts(totals: dict[str, float]):
    """Replace each function of ``SIMULATE_PARTS`` by one that adds its CPU seconds to
    ``totals``; returns the undo. The listening loop's gradient calls are counted."""
    originals = []

    def timer(function, part):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                totals[part] = totals.get(part, 0.0) + time.process_time() - start
        return timed

    for (module, name), part in SIMULATE_PARTS.items():
        originals.append((module, name, getattr(module, name)))
        setattr(module, name, timer(getattr(module, name), part))
    gradient = participant_rewards.listening_gradient

    def counted(*args, **kwargs):
        totals["iterations"] = totals.get("iterations", 0) + 1
        return gradient(*args, **kwargs)

    originals.append((participant_rewards, "listening_gradient", gradient))
    participant_rewards.listening_gradient = counted

    def undo():
        for module, name, function in originals:
            setattr(module, name, function)
    return undo


def simulate_parts(profile: str, rounds: int) -> dict[str, float]:
    """CPU seconds of one simulate run and of its parts (smallest of ``rounds`` runs each)."""
    params = load_profile(profile)
    settings = experiment.Settings(epochs=SIMULATE_EPOCHS)
    experiment.simulate(experiment.Settings(epochs=3), params)            # warm-up
    best: dict[str, float] = {}
    for _ in range(rounds):
        start = time.process_time()
        experiment.simulate(settings, params)
        total = time.process_time() - start
        totals: dict[str, float] = {}
        undo = timed_parts(totals)
        start = time.process_time()
        try:
            experiment.simulate(settings, params)
        finally:
            timed_total = time.process_time() - start
            undo()
        for part in [*SIMULATE_PARTS.values(), "iterations"]:
            totals.setdefault(part, 0.0)                     # a part the profile never runs
        totals["step rest"] = totals["step"] - sum(totals[k] for k in (
            "listening", "consensus", "settle", "CI"))
        totals["experiment"] = timed_total - totals["step"] - totals["synthesis"]
        totals["total"] = total
        for part, value in totals.items():
            best[part] = min(best.get(part, math.inf), value)
    return best


def simulate_table(rounds: int) -> dict[str, dict[str, float]]:
    columns = ["total", "synthesis", "listening", "consensus", "settle", "CI", "step rest",
               "guard scans", "experiment"]
    print("| profile | " + " | ".join(columns) + " | listening iterations | us per iteration |")
    print("|---|" + "---:|" * (len(columns) + 2))
    results = {}
    for profile in PROFILES:
        parts = simulate_parts(profile, rounds)
        results[profile] = parts
        per_iteration = (f"{parts['listening'] / parts['iterations'] * 1e6:.0f}"
                         if parts["iterations"] else "-")
        print(f"| {profile} | " + " | ".join(f"{parts[c]:.3f}" for c in columns)
              + f" | {parts['iterations']:.0f} | {per_iteration} |", flush=True)
    print("\n(total: a run without timers; the parts: a timed run. Guard scans run inside "
          "synthesis and the step rest; experiment = the rest of the run: the mock world's "
          "draws and records)")
    return results


def attack_table(rounds: int) -> None:
    """CPU seconds of the §4.1 majority-stake attack (five epochs of listening) per profile."""
    reports = attacks.attack_reports(np.random.default_rng(1))
    cells = []
    for profile in PROFILES:
        params = load_profile(profile)
        best = math.inf
        for _ in range(rounds):
            start = time.process_time()
            for phi in (0.2, 0.35, 0.5, 0.7, 0.9):
                attacks.attack_shifts(phi, reports, params, 5)
            best = min(best, time.process_time() - start)
        cells.append(f"{profile} {best * 1e3:.1f} ms")
    print("\nattack_shifts, five stake shares x five epochs, CPU: " + "; ".join(cells))


def batch_table() -> float:
    """CPU seconds per 300-epoch whitepaper run: alone, and in batches of BATCH_SIZES runs."""
    params = load_profile("whitepaper")
    runs = [experiment.Settings(seed=k, epochs=SIMULATE_EPOCHS) for k in range(BATCH_RUNS)]
    start = time.process_time()
    for settings in runs:
        experiment.simulate(settings, params)
    alone = (time.process_time() - start) / BATCH_RUNS
    print("| runs per batch | CPU s per run | against one at a time |")
    print("|---:|---:|---:|")
    print(f"| one at a time (simulate) | {alone:.3f} | 1x |")
    for size in BATCH_SIZES:
        start = time.process_time()
        for k in range(0, BATCH_RUNS, size):
            experiment.simulate_batch(runs[k: k + size], params)
        each = (time.process_time() - start) / BATCH_RUNS
        print(f"| {size} | {each:.3f} | {alone / each:.1f}x |", flush=True)
    return each


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="allora-simulator",
                        help="parameter profile (default: allora-simulator)")
    parser.add_argument("--big", action="store_true",
                        help=f"also run one step at {BIG_SIZE} (minutes, several GiB)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each simulate and attack measurement (default: 3)")
    args = parser.parse_args()
    params = load_profile(args.profile)

    print(f"Profile {args.profile}; seconds are medians of repeated calls.\n")
    print("One synthesis epoch (synthesise + settle + CI) against the loop reference\n")
    loop_table(params)

    print("\nThe full epoch step by part, in seconds per call, and its peak memory\n")
    results = step_table(STEP_SIZES + ([BIG_SIZE] if args.big else []), params)
    print(f"\nfitted exponent of the step in N_i (N_f = N_i / 4): {fitted_exponent(results):.2f}")

    print()
    ratio = kernel_comparison(params, args.profile)
    peak = results[(1024, 256, 32)]["peak MiB"]

    print(f"\nThe §3.3 experiment, CPU seconds per {SIMULATE_EPOCHS}-epoch simulate by part "
          f"(smallest of {args.rounds} runs)\n")
    simulated = simulate_table(args.rounds)
    attack_table(args.rounds)
    print(f"\nThe claims ledger's runs: {BATCH_RUNS} whitepaper runs of {SIMULATE_EPOCHS} epochs "
          "one at a time and as batches of topics\n")
    batched = batch_table()
    measured = {"kernel ratio to the compiled loop": ratio,
                "peak MiB of a step at (1024, 256, 32)": peak,
                "CPU s of a 300-epoch whitepaper simulate": simulated["whitepaper"]["total"],
                f"CPU s per run in batches of {BATCH_SIZES[-1]}": batched}
    print()
    for name, value in measured.items():
        target = TARGETS[name]
        verdict = "not measured" if value is None else ("MET" if value <= target else "NOT MET")
        shown = "-" if value is None else f"{value:.3g}"
        print(f"target {name} <= {target}: {verdict} ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
