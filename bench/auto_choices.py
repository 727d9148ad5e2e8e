"""How often ``auto`` runs the serial kernel where parallel is faster, and what it costs.

Times ``cython-parallel``, ``cython-serial`` and ``auto`` (``out=``) side by
side in rounds of one timed call, each after ``fastact._bench.WARM_S`` (10 ms)
of untimed calls, as ``python -m fastact bench`` times large sizes, and
counts the rounds in which auto's timed call ran serial. Run it in two
checkouts, alternated, to compare two versions of the dispatcher's timing
policy::

    python bench/auto_choices.py relu_grad float32 1e7 --rounds 100

Needs the Cython extension (``auto`` counts its parallel calls through it).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from fastact import _backends, _bench, _impls

NAMES = ("cython-parallel", "cython-serial", "auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("function")
    parser.add_argument("dtype")
    parser.add_argument("size", type=lambda text: int(float(text)))
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    cy = _backends.load("cython")._cy
    arrays = _bench.input_arrays(args.function, args.dtype, args.size)
    out = _bench.input_arrays(args.function, args.dtype, args.size, seed=1)[0]
    runs = [_impls.get(args.function, name).prepare(arrays, 0.01, "out", out) for name in NAMES]
    # untimed calls before each timed one: as many as the benchmark makes
    warm = [math.ceil(_bench.WARM_S / _bench.calibrate(run)[2]) for run in runs]
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    serial_rounds = 0
    for r in range(args.rounds):
        # each round starts one implementation further on, as the benchmark's do
        for i in (*range(r % len(NAMES), len(NAMES)), *range(r % len(NAMES))):
            for _ in range(warm[i]):
                runs[i]()
            before = cy.parallel_runs()
            start = time.perf_counter()
            runs[i]()
            times[NAMES[i]].append(time.perf_counter() - start)
            if NAMES[i] == "auto":
                serial_rounds += cy.parallel_runs() == before
    for name in NAMES:
        print(f"{name:16} median {_bench.format_time(statistics.median(times[name]))}")
    for name in NAMES[1:]:
        ratio = statistics.median(
            a / b for a, b in zip(times[name], times["cython-parallel"], strict=True)
        )
        print(f"{name} / cython-parallel, median of the rounds' ratios: {ratio:.3f}")
    print(f"rounds in which auto's timed call ran serial: {serial_rounds} of {args.rounds}")


if __name__ == "__main__":
    main()
