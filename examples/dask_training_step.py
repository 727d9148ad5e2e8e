"""Forward and backward of a fastact layer on dask.distributed, over more data than a worker holds.

A Leaky ReLU layer (:class:`fastact.nn.LeakyReLU`) takes a float32 input made
on the workers chunk by chunk (nothing is ever sent from this process), and
its backward pass turns the gradient of the output into the gradient of the
input. Every chunk is computed by fastact's kernels on the worker that holds
it: the layer's functions return lazy dask arrays, and the step ends in a few
reductions (the sums a training loop would go on with, and the number of
elements that differ from the ``np.where`` formulas, which must be 0), so no
array is ever whole in memory. By default the input alone is 512 MiB, and the
input, the gradient of the output and both results 2 GiB, against workers of
512 MiB each: the data streams through them chunk by chunk.

With fastact and dask installed (``pip install '.[dask]'``)::

    python examples/dask_training_step.py                      # a LocalCluster of 2 workers
    python examples/dask_training_step.py --elements 1e9 --memory-limit 1GiB

On a real cluster, start a scheduler and workers with fastact installed
(``dask scheduler`` on one machine, ``dask worker tcp://<scheduler>:8786`` on
each of the others) and point the step at it; nothing else is fastact-specific::

    python examples/dask_training_step.py --scheduler tcp://10.0.0.5:8786

which is, in your own code::

    from dask.distributed import Client
    client = Client("tcp://10.0.0.5:8786")
    y = layer(x)                          # x a dask array: lazy
    grad_x = layer.backward(grad_out)     # lazy, chunk-aligned with x

:func:`training_step` is importable (``tests/test_containers.py`` runs it with
tiny sizes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from distributed.diagnostics import MemorySampler

import fastact as fa

__all__ = ["main", "start_local_cluster", "training_step"]


def start_local_cluster(workers: int = 2, memory_limit: str = "512MiB") -> LocalCluster:
    """A cluster of ``workers`` processes on this machine, one thread and ``memory_limit`` each.

    Parameters
    ----------
    workers : int, default 2
        The number of worker processes.
    memory_limit : str, default "512MiB"
        What each worker may hold; dask spills to disk and pauses a worker
        above fractions of it.

    Returns
    -------
    dask.distributed.LocalCluster
        Listening on the loopback interface only, without a dashboard.

    Examples
    --------
    >>> from dask.distributed import Client
    >>> with start_local_cluster(1) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     print(len(client.scheduler_info()["workers"]))
    1
    """
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        host="127.0.0.1",
        dashboard_address=None,
    )


def training_step(
    client: Client, elements: int, chunk: int, alpha: float = 0.01, seed: int = 0
) -> dict[str, Any]:
    """Forward and backward of ``fa.nn.LeakyReLU(alpha)`` over ``elements`` float32 values.

    Parameters
    ----------
    client : dask.distributed.Client
        The cluster to run on.
    elements : int
        The size of the layer's input (a 1-D float32 array).
    chunk : int
        Elements per chunk: what one task holds of each array.
    alpha : float, default 0.01
        The layer's slope for ``x <= 0``.
    seed : int, default 0
        Seeds the random input and gradient.

    Returns
    -------
    dict
        ``sum_y`` and ``sum_grad_x`` (float64 sums of the results),
        ``wrong_y`` and ``wrong_grad_x`` (elements that differ from the
        ``np.where`` formulas: 0), ``seconds``, ``data_bytes`` (the four
        arrays) and ``peak_bytes`` (the workers' peak memory, all together).

    Examples
    --------
    >>> with start_local_cluster(1) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     training_step(client, 10**6, 10**5)["wrong_y"]
    0
    """
    rng = da.random.default_rng(seed)
    # made on the workers, chunk by chunk: this process never holds the data
    x = rng.standard_normal(elements, chunks=chunk, dtype=np.float32)
    grad_out = rng.standard_normal(elements, chunks=chunk, dtype=np.float32)

    layer = fa.nn.LeakyReLU(alpha)
    y = layer(x)  # lazy: a graph of fastact ufunc tasks, one per chunk
    grad_x = layer.backward(grad_out)  # lazy too, with x's chunks

    # the formulas of the SPEC in float32, to check every element on the workers
    a = np.float32(alpha)
    wrong_y = (y != da.where(x > 0, x, a * x)).sum()
    wrong_grad_x = (grad_x != da.where(x > 0, grad_out, a * grad_out)).sum()

    sampler = MemorySampler()
    start = time.perf_counter()
    with sampler.sample("step", client=client, interval=0.1):
        sum_y, sum_grad_x, n_y, n_g = dask.compute(
            y.sum(dtype=np.float64), grad_x.sum(dtype=np.float64), wrong_y, wrong_grad_x
        )
    seconds = time.perf_counter() - start
    samples = sampler.samples["step"]
    return {
        "sum_y": float(sum_y),
        "sum_grad_x": float(sum_grad_x),
        "wrong_y": int(n_y),
        "wrong_grad_x": int(n_g),
        "seconds": seconds,
        "data_bytes": 4 * elements * 4,
        "peak_bytes": max((b for _, b in samples), default=0),
    }


def _count(text: str) -> int:
    return int(float(text))  # accepts 1e9


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run one step on a new LocalCluster, or on ``--scheduler``, and print what it did."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elements", type=_count, default=2**27, help="input size")
    parser.add_argument("--chunk", type=_count, default=2**22, help="elements per chunk")
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scheduler", help="a running cluster's address, e.g. tcp://host:8786")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--memory-limit", default="512MiB", help="per LocalCluster worker")
    args = parser.parse_args(argv)

    cluster = None if args.scheduler else start_local_cluster(args.workers, args.memory_limit)
    try:
        with Client(args.scheduler or cluster) as client:
            workers = client.scheduler_info()["workers"].values()
            limits = sorted({w["memory_limit"] for w in workers})
            result = training_step(client, args.elements, args.chunk, args.alpha, args.seed)
    finally:
        if cluster is not None:
            cluster.close()

    mib = 2.0**20
    print(
        f"{args.elements:,} float32 elements in chunks of {args.chunk:,} on {len(workers)} "
        f"workers of {', '.join(f'{v / mib:.0f} MiB' for v in limits)}"
    )
    print(
        f"  data: {result['data_bytes'] / mib:,.0f} MiB (x, grad_out, y, grad_x); peak memory "
        f"of all workers: {result['peak_bytes'] / mib:,.0f} MiB"
    )
    print(f"  sum(y) = {result['sum_y']:.6g}, sum(grad_x) = {result['sum_grad_x']:.6g}")
    print(
        f"  elements unlike np.where: {result['wrong_y']} (forward), "
        f"{result['wrong_grad_x']} (backward); {result['seconds']:.2f} s"
    )
    return result


if __name__ == "__main__":
    main()
