"""The benchmark harness: ``fastact bench`` and the registry of what it times.

``fastact.bench.registry`` lists every implementation of every kernel of the
activation table (fastact's own rows and the baselines people use), the
harness (``fastact.bench.harness``) times them side by side, and
``fastact.bench.report`` checks the performance bars and writes the report.
The pytest-benchmark suite in the source tree's ``bench/`` folder and the
tests in ``tests/test_impls.py`` use the same registry. Nothing here is
imported by ``import fastact``.
"""
