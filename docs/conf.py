"""Sphinx configuration of fastact's documentation.

The docs describe the *installed* package, compiled extension included:
install it first (``pip install '.[docs]'``), then build from any directory
with ``sphinx-build -W docs build/docs`` (``-b doctest`` runs every example).

The API reference follows the activation table (``fastact/_table.py``): the
directives below write one section per activation, so a new table entry is
documented without editing these pages.
"""

from __future__ import annotations

import doctest
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

import fastact
from fastact import _backends
from fastact._table import ACTIVATIONS, KERNELS, activation_of, is_backward

if _backends.status("cython") is not None:
    raise RuntimeError(
        f"fastact was imported from {Path(fastact.__file__).parent} without its compiled "
        f"extension ({_backends.status('cython')}). Install the package "
        "(pip install '.[docs]') and run sphinx-build outside the source tree's "
        "Python path (the sphinx-build script, not python -m sphinx from the repo root)."
    )

HERE = Path(__file__).resolve().parent

project = "fastact"
author = "the fastact authors"
copyright = "the fastact authors; BSD 3-Clause License"
version = release = fastact.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.doctest", "numpydoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"page_width": "1100px", "sidebar_width": "230px"}
html_title = f"fastact {release}"
pygments_style = "sphinx"

# autodoc and numpydoc: members are listed by the pages themselves
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# the examples of the pages and of the docstrings run with ``-b doctest``
doctest_global_setup = """
import importlib.util
import numpy as np
import fastact as fa
"""
doctest_default_flags = (
    doctest.ELLIPSIS
    | doctest.NORMALIZE_WHITESPACE
    | doctest.IGNORE_EXCEPTION_DETAIL
    | doctest.DONT_ACCEPT_TRUE_FOR_1
)


def _parse(directive: SphinxDirective, lines: list[str]) -> list[nodes.Node]:
    """Parse generated reStructuredText (titles included) where ``directive`` stands."""
    node = nodes.section()
    node.document = directive.state.document
    source = directive.get_source_info()[0]
    content = StringList()
    for i, line in enumerate(lines):
        content.append(line, source, i)
    nested_parse_with_titles(directive.state, content, node)
    return node.children


class Formulas(SphinxDirective):
    """The table of formulas of one family (``exact`` or ``smooth``): each
    activation, its derivative and its layer."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        family = self.arguments[0]
        if family not in {act.family for act in ACTIVATIONS.values()}:
            raise self.error(f"no activation of the family {family!r}")
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 18 32 32 18",
            "",
            "   * - ``f`` (parameters)",
            "     - ``f(x)``",
            "     - ``f'(x)``",
            "     - layer",
        ]
        for act in (a for a in ACTIVATIONS.values() if a.family == family):
            params = ", ".join(f"``{p.name}={p.default!r}``" for p in act.params)
            lines += [
                f"   * - :func:`~fastact.{act.name}`" + (f" ({params})" if params else ""),
                f"     - ``{act.forward}``",
                f"     - ``{act.grad}``",
                f"     - :class:`~fastact.nn.{act.layer}`",
            ]
        return _parse(self, lines)


class ActivationFunctions(SphinxDirective):
    """A section per activation: its three functions, from the table."""

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for act in ACTIVATIONS.values():
            title = f"``{act.name}``"
            lines += [title, "-" * len(title), ""]
            lines += [
                f"``{act.name}(x)`` is ``{act.forward}``; its layer is "
                f":class:`fastact.nn.{act.layer}`.",
                "",
            ]
            for kernel in act.kernels:
                lines += [f".. autofunction:: fastact.{kernel}", ""]
        return _parse(self, lines)


class Layers(SphinxDirective):
    """Every generated layer class of ``fastact.nn``, with its parameters."""

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for act in ACTIVATIONS.values():
            lines.append(f".. autoclass:: fastact.nn.{act.layer}")
            if act.params:
                lines.append(f"   :members: {', '.join(p.name for p in act.params)}")
            lines.append("")
        return _parse(self, lines)


class Ufuncs(SphinxDirective):
    """A table of the ufuncs of ``fastact.ufunc``: operands and loops."""

    def run(self) -> list[nodes.Node]:
        from fastact import ufunc

        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 40 30",
            "",
            "   * - ufunc",
            "     - operands, in order",
            "     - loops (NumPy type codes)",
        ]
        for kernel in KERNELS:
            u = getattr(ufunc, kernel)
            operands = ["grad_out", "x"] if is_backward(kernel) else ["x"]
            operands += [p.name for p in activation_of(kernel).params]
            lines += [
                f"   * - ``fastact.ufunc.{kernel}``",
                f"     - ``{', '.join(operands)}``",
                f"     - ``{' '.join(u.types)}``",
            ]
        return _parse(self, lines)


class BenchReport(SphinxDirective):
    """The benchmark report of record in ``docs/`` (``bench-report*.md``) and its plots."""

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        reports = sorted(srcdir.glob("bench-report*.md"))
        plots = sorted(srcdir.glob("bench-*.png"))
        if not reports and not plots:
            return _parse(
                self,
                [
                    ".. note::",
                    "",
                    "   This checkout has no report of record: run ``fastact bench``",
                    "   to make one on your machine.",
                ],
            )
        lines: list[str] = []
        if reports:
            report = reports[-1]
            self.env.note_dependency(str(report))
            text = report.read_text(encoding="utf-8").splitlines()
            header = []
            for line in text[1:]:
                if line.startswith("## "):
                    break
                if line.startswith("- "):
                    header.append(line)
            lines += [
                f"The report of record is :download:`{report.name} <{report.name}>`"
                + (" (Markdown). Its header:" if header else " (Markdown)."),
                "",
            ]
            if header:
                lines += [".. code-block:: text", ""] + [f"   {line}" for line in header] + [""]
            verdict = [line for line in text if "bars met" in line.lower()]
            if verdict:
                lines += ["Its verdict:", "", ".. code-block:: text", ""]
                lines += [f"   {line}" for line in verdict] + [""]
        for plot in plots:
            self.env.note_dependency(str(plot))
            lines += [
                f".. figure:: {plot.name}",
                "   :width: 100%",
                "",
                f"   ``{plot.name}``",
                "",
            ]
        if reports:
            lines += [
                ".. rubric:: The whole report",
                "",
                f".. literalinclude:: {reports[-1].name}",
                "   :language: text",
                "",
            ]
        return _parse(self, lines)


def setup(app):
    app.add_directive("fastact-formulas", Formulas)
    app.add_directive("fastact-activation-functions", ActivationFunctions)
    app.add_directive("fastact-layers", Layers)
    app.add_directive("fastact-ufuncs", Ufuncs)
    app.add_directive("fastact-bench-report", BenchReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
