"""Train a small NumPy MLP on scikit-learn's handwritten digits, with fastact or ``np.where``.

A 64-256-256-10 multilayer perceptron (Leaky ReLU hidden layers, softmax
cross-entropy output, mini-batch SGD with momentum), all in NumPy, trained on
``sklearn.datasets.load_digits`` (bundled with scikit-learn, no download).
The hidden activations are either the ``np.where`` code of the tutorials
(``--activations numpy``) or the layers of :mod:`fastact.nn`
(``--activations fastact``). Everything else is the same code, so both runs
end with bit-identical weights and only the time per epoch differs. With
fastact installed (``pip install '.[examples]'`` adds scikit-learn)::

    python examples/train_mlp.py --activations numpy --threads 1
    python examples/train_mlp.py --activations fastact --inplace --threads 1

The model code is importable (``tests/test_training.py`` drives it):
:class:`MLP`, :class:`SGD`, :func:`train_epoch`, :func:`accuracy`,
:func:`load_digits_split`.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

import fastact as fa

Array = NDArray[Any]

__all__ = [
    "MLP",
    "SGD",
    "WhereLeakyReLU",
    "accuracy",
    "load_digits_split",
    "main",
    "make_activation",
    "softmax_cross_entropy",
    "train_epoch",
]


class Activation(Protocol):
    """What :class:`MLP` needs from a hidden activation: a layer of :mod:`fastact.nn`."""

    def forward(self, x: Array) -> Array:
        """Return the activation of ``x`` and keep what :meth:`backward` needs."""

    def backward(self, grad_out: Array, *, out: Array | None = None) -> Array:
        """Return the gradient with respect to the input of the last :meth:`forward`."""


class WhereLeakyReLU:
    """The tutorials' ``np.where`` Leaky ReLU as a layer: the baseline fastact replaces.

    The forward pass is the seed's ``np.where(x <= 0, leak * x, x)`` as
    written; for every ``x`` (NaN and -0.0 included) it equals the SPEC's
    ``x if x > 0 else alpha * x``. The backward pass is the seed's
    ``grad * np.where(x <= 0, leak, 1)`` with two changes, so that it computes
    exactly the SPEC's ``grad if x > 0 else alpha * grad`` and the comparison
    with fastact is bit for bit:

    - the condition is ``x > 0`` with the branches swapped. The two differ only
      at NaN, where the seed's derivative is 1 and the SPEC's (and PyTorch's)
      is ``alpha``;
    - ``leak`` and ``1`` are scalars of ``x``'s dtype. The seed's
      ``np.where(x <= 0, 0.01, 1)`` is float64 whatever ``x`` is, so for a
      float32 model it silently turns the whole backward pass into float64:
      twice the memory traffic, different rounding, and a float64 weight
      gradient cast back on update.

    Neither change touches the cost: it is still a temporary for ``leak * x``,
    a boolean mask and a new array per forward pass, and a derivative array
    plus a product per backward pass. There is no in-place form.

    Parameters
    ----------
    alpha : float, default 0.01
        The slope for ``x <= 0`` (the seed's ``leak``).

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereLeakyReLU(0.5)
    >>> layer.forward(np.array([-2.0, 3.0], dtype=np.float32))
    array([-1.,  3.], dtype=float32)
    >>> layer.backward(np.array([4.0, 4.0], dtype=np.float32))
    array([2., 4.], dtype=float32)
    """

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = float(alpha)
        self._x: Array | None = None

    def forward(self, x: Array) -> Array:
        """Return ``np.where(x <= 0, leak * x, x)`` and keep ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            The pre-activation, float32 or float64.

        Returns
        -------
        numpy.ndarray
            The activation, a new array of ``x``'s dtype.
        """
        self._x = x
        leak = x.dtype.type(self.alpha)
        return np.where(x <= 0, leak * x, x)

    __call__ = forward

    def backward(self, grad_out: Array, *, out: Array | None = None) -> Array:
        """Return ``grad_out * np.where(x > 0, 1, leak)`` in ``x``'s dtype.

        Parameters
        ----------
        grad_out : numpy.ndarray
            The gradient with respect to the output.
        out : numpy.ndarray, optional
            Where to write the product (the derivative array is allocated
            regardless).

        Returns
        -------
        numpy.ndarray
            The gradient with respect to the input.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        """
        if self._x is None:
            raise RuntimeError("WhereLeakyReLU.backward called before forward")
        x = self._x
        one, leak = x.dtype.type(1), x.dtype.type(self.alpha)
        return np.multiply(grad_out, np.where(x > 0, one, leak), out=out)

    def __repr__(self) -> str:
        return f"WhereLeakyReLU(alpha={self.alpha!r})"


def make_activation(activations: str, alpha: float, inplace: bool) -> Activation:
    """Return a hidden-layer activation: the ``np.where`` baseline or a fastact layer.

    Parameters
    ----------
    activations : {"numpy", "fastact"}
        ``"numpy"``: :class:`WhereLeakyReLU`. ``"fastact"``:
        ``fa.nn.LeakyReLU(alpha, inplace)``, or ``fa.nn.ReLU(inplace)`` when
        ``alpha == 0``.
    alpha : float
        The slope for ``x <= 0``.
    inplace : bool
        Run the fastact forward and backward passes in place. Not available
        for ``"numpy"``: ``np.where`` always allocates.

    Returns
    -------
    Activation
        A layer with ``forward(x)`` and ``backward(grad_out, out=None)``.

    Raises
    ------
    ValueError
        If ``activations`` is unknown, or ``inplace`` is asked of ``"numpy"``.

    Examples
    --------
    >>> make_activation("fastact", 0.01, inplace=True)
    LeakyReLU(alpha=0.01, inplace=True)
    >>> make_activation("fastact", 0.0, inplace=False)
    ReLU(inplace=False)
    """
    if activations == "numpy":
        if inplace:
            raise ValueError("the np.where activations have no in-place form")
        return WhereLeakyReLU(alpha)
    if activations == "fastact":
        # ReLU gives +0.0 for negative inputs where the seed's 0 * x gives -0.0;
        # the weights still come out bit-identical (tests/test_training.py), so
        # use the layer a user would pick.
        if alpha == 0:
            return fa.nn.ReLU(inplace=inplace)
        return fa.nn.LeakyReLU(alpha, inplace=inplace)
    raise ValueError(f"activations must be 'numpy' or 'fastact', got {activations!r}")


def softmax_cross_entropy(logits: Array, labels: NDArray[np.integer]) -> tuple[float, Array]:
    """Mean softmax cross-entropy of ``logits`` against integer ``labels``, and its gradient.

    Parameters
    ----------
    logits : numpy.ndarray
        Shape ``(n, classes)``.
    labels : numpy.ndarray of int
        Shape ``(n,)``, values in ``range(classes)``.

    Returns
    -------
    loss : float
        The mean loss (for reporting only).
    grad : numpy.ndarray
        The gradient of the mean loss with respect to ``logits``, in their dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(loss, 6), grad[0]
    (1.386294, array([-0.375,  0.125,  0.125,  0.125]))
    """
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    # log-sum-exp form: total >= 1, so no log(0) even when a probability underflows
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels], dtype=np.float64))
    grad = exp
    grad /= total
    grad[rows, labels] -= 1
    grad /= logits.dtype.type(n)
    return loss, grad


class MLP:
    """A multilayer perceptron in NumPy: affine layers, hidden activations, linear output.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``(64, 256, 256, 10)``.
    activations : {"numpy", "fastact"}, default "fastact"
        The hidden activation code (see :func:`make_activation`).
    alpha : float, default 0.01
        The Leaky ReLU slope (0 for ReLU).
    inplace : bool, default False
        Run the fastact activations in place: the forward pass overwrites the
        pre-activation, the backward pass overwrites the incoming gradient.
    dtype : dtype-like, default numpy.float32
        The dtype of the parameters and of every computation.
    seed : int, default 0
        Seed of the weight initialisation.

    Examples
    --------
    >>> import numpy as np
    >>> model = MLP((3, 8, 2), alpha=0.1, seed=0)
    >>> logits = model.forward(np.ones((5, 3), dtype=np.float32))
    >>> grads = model.backward(np.ones_like(logits))
    >>> [g.shape for g in grads]
    [(3, 8), (8,), (8, 2), (2,)]
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activations: str = "fastact",
        alpha: float = 0.01,
        inplace: bool = False,
        dtype: DTypeLike = np.float32,
        seed: int = 0,
    ) -> None:
        self.dtype = np.dtype(dtype)
        self.inplace = bool(inplace)
        rng = np.random.default_rng(seed)
        # He initialisation for Leaky ReLU; drawn in float64 and then cast, so
        # every activation choice starts from the same weights.
        gain = np.sqrt(2.0 / (1.0 + alpha**2))
        self.weights = [
            (rng.standard_normal((m, n)) * (gain / np.sqrt(m))).astype(self.dtype)
            for m, n in itertools.pairwise(sizes)
        ]
        self.biases = [np.zeros(n, dtype=self.dtype) for n in sizes[1:]]
        self.activations = [
            make_activation(activations, alpha, inplace) for _ in range(len(sizes) - 2)
        ]
        self._layer_inputs: list[Array] = []

    @property
    def params(self) -> list[Array]:
        """The parameters, in the order :meth:`backward` returns their gradients."""
        return [p for wb in zip(self.weights, self.biases, strict=True) for p in wb]

    def forward(self, x: Array) -> Array:
        """Return the logits of the batch ``x`` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : numpy.ndarray
            Shape ``(batch, sizes[0])``, of the model's dtype.

        Returns
        -------
        numpy.ndarray
            The logits, shape ``(batch, sizes[-1])``.
        """
        self._layer_inputs = [x]
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = h @ w
            z += b  # in place: no second (batch, width) array
            if i == len(self.activations):
                return z
            h = self.activations[i].forward(z)
            self._layer_inputs.append(h)
        raise AssertionError("unreachable: the output layer returns")

    __call__ = forward

    def backward(self, grad_logits: Array) -> list[Array]:
        """Return the gradients of the loss with respect to :attr:`params`.

        Parameters
        ----------
        grad_logits : numpy.ndarray
            The gradient with respect to the logits of the last :meth:`forward`.

        Returns
        -------
        list of numpy.ndarray
            ``[dW0, db0, dW1, db1, ...]``, matching :attr:`params`.
        """
        grads: list[Array] = [grad_logits] * (2 * len(self.weights))
        g = grad_logits
        for i in reversed(range(len(self.weights))):
            if i < len(self.activations):
                # g is a fresh array (g @ W.T below), so overwriting it is safe
                g = self.activations[i].backward(g, out=g if self.inplace else None)
            grads[2 * i] = self._layer_inputs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ self.weights[i].T
        return grads


class SGD:
    """Mini-batch SGD with momentum, in place, in the parameters' dtype.

    ``v = momentum * v - lr * grad; param += v``.

    Parameters
    ----------
    params : list of numpy.ndarray
        The parameters, updated in place by :meth:`step`.
    lr : float
        The learning rate.
    momentum : float, default 0.9
        The momentum coefficient.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones(2)
    >>> opt = SGD([w], lr=0.5)
    >>> opt.step([np.array([1.0, -1.0])])
    >>> w
    array([0.5, 1.5])
    """

    def __init__(self, params: list[Array], lr: float, momentum: float = 0.9) -> None:
        self.params = params
        dtype = params[0].dtype.type
        # dtype scalars: the update stays in the parameters' dtype
        self.lr, self.momentum = dtype(lr), dtype(momentum)
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, grads: list[Array]) -> None:
        """Apply one update from ``grads`` (same order as the parameters).

        Parameters
        ----------
        grads : list of numpy.ndarray
            One gradient per parameter.
        """
        for p, g, v in zip(self.params, grads, self.velocity, strict=True):
            v *= self.momentum
            g *= self.lr
            v -= g
            p += v


def train_epoch(
    model: MLP,
    opt: SGD,
    x: Array,
    y: NDArray[np.integer],
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """Run one epoch of mini-batch training over ``(x, y)`` in a random order.

    Parameters
    ----------
    model : MLP
        The model, updated in place.
    opt : SGD
        Its optimiser.
    x, y : numpy.ndarray
        The training inputs and integer labels.
    batch_size : int
        Samples per step (the last batch may be smaller).
    rng : numpy.random.Generator
        Draws the order of the samples.

    Returns
    -------
    float
        The mean training loss over the epoch.
    """
    order = rng.permutation(len(x))
    total = 0.0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        loss, grad = softmax_cross_entropy(model.forward(x[idx]), y[idx])
        opt.step(model.backward(grad))
        total += loss * len(idx)
    return total / len(x)


def accuracy(model: MLP, x: Array, y: NDArray[np.integer]) -> float:
    """Return the fraction of ``x`` that ``model`` classifies as ``y``.

    Parameters
    ----------
    model : MLP
        The model.
    x, y : numpy.ndarray
        Inputs and integer labels.

    Returns
    -------
    float
        The accuracy, in [0, 1].
    """
    return float(np.mean(model.forward(x).argmax(axis=1) == y))


def load_digits_split(
    dtype: DTypeLike = np.float32, seed: int = 0, test_fraction: float = 0.2
) -> tuple[Array, NDArray[np.intp], Array, NDArray[np.intp]]:
    """Load scikit-learn's 8x8 digits (1797 images), scaled to [0, 1], split at random.

    Parameters
    ----------
    dtype : dtype-like, default numpy.float32
        The dtype of the inputs.
    seed : int, default 0
        Seed of the split.
    test_fraction : float, default 0.2
        The share of samples held out for testing.

    Returns
    -------
    x_train, y_train, x_test, y_test : numpy.ndarray
        Inputs of shape ``(n, 64)`` and integer labels.
    """
    from sklearn.datasets import load_digits  # optional: the "examples" extra

    digits = load_digits()
    x = (digits.data / 16.0).astype(dtype)
    y = digits.target.astype(np.intp)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def main(argv: Sequence[str] | None = None) -> float:
    """Train on the digits with the command-line options, printing each epoch.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    float
        The final test accuracy.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activations", choices=["numpy", "fastact"], default="fastact")
    parser.add_argument(
        "--inplace", action="store_true", help="fastact layers in place (not for numpy)"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=256, help="width of both hidden layers")
    parser.add_argument("--alpha", type=float, default=0.01, help="Leaky ReLU slope (0: ReLU)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS and fastact to this many threads (default: as configured)",
    )
    args = parser.parse_args(argv)
    if args.inplace and args.activations == "numpy":
        parser.error("--inplace needs --activations fastact: np.where always allocates")
    if args.threads is None:
        return _train(args)
    # On a shared machine, BLAS threads that spin-wait for a core another
    # process holds can stretch a 20 ms epoch to seconds: pinning the thread
    # count makes the two activation choices comparable.
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    previous = fa.get_num_threads()
    fa.set_num_threads(args.threads)
    try:
        with threadpool_limits(args.threads, user_api="blas"):
            return _train(args)
    finally:
        fa.set_num_threads(previous)


def _train(args: argparse.Namespace) -> float:
    """Train and report as :func:`main` describes, with its parsed arguments."""
    x_train, y_train, x_test, y_test = load_digits_split(args.dtype, args.seed)
    sizes = (x_train.shape[1], args.width, args.width, 10)
    model = MLP(
        sizes,
        activations=args.activations,
        alpha=args.alpha,
        inplace=args.inplace,
        dtype=args.dtype,
        seed=args.seed,
    )
    opt = SGD(model.params, args.lr, args.momentum)
    rng = np.random.default_rng(args.seed)
    backend = f", fastact backend {fa.get_backend()!r}" if args.activations == "fastact" else ""
    print(
        f"MLP {'-'.join(map(str, sizes))}, {model.activations[0]!r}{backend}, {args.dtype}, "
        f"batch {args.batch_size}, {len(x_train)} train / {len(x_test)} test samples, "
        f"threads {args.threads or 'default'}"
    )
    acc, times = 0.0, []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, x_train, y_train, args.batch_size, rng)
        times.append(time.perf_counter() - t0)
        acc = accuracy(model, x_test, y_test)
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  test accuracy {acc:7.2%}  "
            f"time {times[-1] * 1e3:8.1f} ms"
        )
    # the median ignores the first epoch's warm-up and the noise of a shared machine
    print(f"final test accuracy {acc:.2%}, median epoch time {np.median(times) * 1e3:.1f} ms")
    return acc


if __name__ == "__main__":
    main()
