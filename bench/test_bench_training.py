"""pytest-benchmark: one training epoch of a NumPy MLP, np.where activations against fastact.

The model is ``examples/train_mlp.py`` at sizes where the activations matter:
64-W-W-10 with W = 256 and 1024, float32, 4 mini-batches of 512 (synthetic
digit-like data, so scikit-learn is not needed). At W = 1024 the hidden layers
hold 2 x 512 x 1024 activations per step; the seeds' ``np.where`` code spends
about 2 ms on each forward and each backward pass of one of them, fastact tens
of microseconds, next to about 10 ms per 1024 x 1024 matrix product. At
W = 256 the products shrink 16-fold and the activations only 4-fold, so the
activations are most of the ``np.where`` epoch. The weights both ways are bit-identical
(``tests/test_training.py``), so the table compares the same computation.

Run (about 15 s)::

    python -m pytest bench/test_bench_training.py

Thread settings decide this benchmark more than the kernels do. Pinned to
one thread each, it compares the activation code alone::

    OPENBLAS_NUM_THREADS=1 FASTACT_NUM_THREADS=1 python -m pytest bench/test_bench_training.py

With the defaults (BLAS and fastact both multi-threaded), OpenMP worker
threads that spin-wait after a parallel fastact kernel (libgomp's default
wait policy) take cores from the BLAS threads of the next matrix product;
on a 2-core machine that made the fastact epochs slower than the ``np.where``
ones. ``OMP_WAIT_POLICY=PASSIVE`` in the environment removes the effect, so
compare the default run with::

    OMP_WAIT_POLICY=PASSIVE python -m pytest bench/test_bench_training.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import fastact as fa

BATCH, STEPS = 512, 4


# the example is a script, not part of the package: import it from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import train_mlp  # noqa: E402


@pytest.mark.parametrize(
    ("activations", "inplace"),
    [("numpy", False), ("fastact", False), ("fastact", True)],
    ids=["np.where", "fastact", "fastact-inplace"],
)
@pytest.mark.parametrize("width", [256, 1024])
def test_training_epoch(benchmark, width: int, activations: str, inplace: bool) -> None:
    rng = np.random.default_rng(0)
    n = BATCH * STEPS
    x = (rng.integers(0, 17, size=(n, 64)) / 16).astype(np.float32)
    y = rng.integers(0, 10, size=n)
    model = train_mlp.MLP(
        (64, width, width, 10),
        activations=activations,
        alpha=0.01,
        inplace=inplace,
        dtype=np.float32,
    )
    opt = train_mlp.SGD(model.params, lr=0.01, momentum=0.9)
    benchmark.group = f"training epoch: MLP 64-{width}-{width}-10 float32, {STEPS} x batch {BATCH}"
    benchmark.extra_info.update(
        activations=activations,
        inplace=inplace,
        fastact_backend=fa.get_backend(),
        fastact_threads=fa.get_num_threads(),
        blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    )
    # one warm-up epoch outside the timing: first-touch page faults of the
    # optimiser state and any first-call work in a backend
    train_mlp.train_epoch(model, opt, x, y, BATCH, rng)
    loss = benchmark(train_mlp.train_epoch, model, opt, x, y, BATCH, rng)
    assert np.isfinite(loss)
