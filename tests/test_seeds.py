"""The tutorials in ../shared/seeds/, and where fastact agrees or (by the SPEC) differs."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa


def seed_relu(x, leak=0):  # 003_1ba20ee4a1a59ae6.txt, as written
    return np.where(x <= 0, leak * x, x)


def seed_relu_dash(x, leak=0):  # 003_1ba20ee4a1a59ae6.txt, as written
    return np.where(x <= 0, leak, 1)


SEED_VECTORS = [  # (x, leak, printed relu(x), printed relu_dash(x)) from the notebook
    ([[0.2], [0.5], [1.2], [-2.3], [0]], 0, [[0.2], [0.5], [1.2], [-0.0], [0.0]],
     [[1], [1], [1], [0], [0]]),
    ([[0.11], [-2.2], [0], [50.2], [33.5], [-0.6]], 0,
     [[0.11], [-0.0], [0.0], [50.2], [33.5], [-0.0]], [[1], [0], [0], [1], [1], [0]]),
    ([[-0.5], [0], [1], [2], [3], [4.5]], 0.1, [[-0.05], [0.0], [1.0], [2.0], [3.0], [4.5]],
     [[0.1], [0.1], [1.0], [1.0], [1.0], [1.0]]),
]  # fmt: skip


@pytest.mark.parametrize(("x", "leak", "y", "dy"), SEED_VECTORS)
def test_seed_vectors(x, leak, y, dy, backend) -> None:
    x = np.array(x, dtype=float)
    np.testing.assert_array_equal(seed_relu(x, leak), y)  # the notebook's own output
    if leak == 0:
        got = fa.relu(x, backend=backend)
        # relu gives +0.0 for negative x, where the seed's leak * x gives -0.0
        assert not np.signbit(got[x < 0]).any()
        np.testing.assert_array_equal(fa.relu_grad(x, backend=backend), dy)
    else:
        got = fa.leaky_relu(x, leak, backend=backend)
        np.testing.assert_array_equal(got, seed_relu(x, leak))
        np.testing.assert_array_equal(fa.leaky_relu_grad(x, leak, backend=backend), dy)
    np.testing.assert_array_equal(got, y)  # equal as numbers: -0.0 == 0.0


def test_seed_list_comprehension() -> None:  # 004_1df79325b5bd98d2.txt
    alpha = np.exp(-2)
    x = np.arange(-10, 10, 0.1)
    y = [v if v >= 0 else alpha * v for v in x]
    np.testing.assert_array_equal(fa.leaky_relu(x, alpha), y)
    assert fa.leaky_relu(x, alpha)[0] == -1.353352832366127  # the notebook's first output
    # the notebook's derivative is 1 at x == 0; the SPEC (and PyTorch) say alpha
    assert fa.leaky_relu_grad(0.0, alpha) == alpha
