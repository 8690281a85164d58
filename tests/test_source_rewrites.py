"""Tests generated from every source rewrite's own examples (no TensorFlow), plus the catalog's own rules.

Each ``Example`` is run three ways: safe fixes only, safe and unsafe fixes, and again on its own output
(a second run must change nothing). Every output must parse. Adding a rewrite with examples adds its tests.
"""

from __future__ import annotations

import subprocess
import sys

import libcst as cst
import pytest

from repair.codemod import rewrite_source
from repair.decide import AutoDecider
from repair.safety import Safety
from repair.source import Example, SourceRewrite
from rewrites.source import SOURCE_CATALOG

EXAMPLES = [pytest.param(r, e, id=f"{r.id}-{i}") for r in SOURCE_CATALOG for i, e in enumerate(r.examples)]
SAFE_ONLY = AutoDecider(yes=True, unsafe=False)
ALL = AutoDecider(yes=True, unsafe=True)


def _run(rewrite: SourceRewrite, text: str, example: Example, decider: AutoDecider):  # type: ignore[no-untyped-def]
    return rewrite_source(text, [rewrite], example.options, decider)


@pytest.mark.parametrize("rewrite, example", EXAMPLES)
def test_example(rewrite: SourceRewrite, example: Example) -> None:
    result = _run(rewrite, example.before, example, ALL)
    assert result.status != "failed", result.error
    expected = example.before if example.after is None else example.after
    assert result.after == expected
    assert len(result.warnings) == example.warns
    cst.parse_module(result.after)
    again = _run(rewrite, result.after, example, ALL)
    assert again.after == result.after, "a second run changed the rewritten code"
    safe = _run(rewrite, example.before, example, SAFE_ONLY)
    if example.unsafe:
        assert safe.after == example.before, "an unsafe edit was applied without --unsafe-fixes"
    else:
        assert safe.after == expected


@pytest.mark.parametrize("rewrite", SOURCE_CATALOG, ids=lambda r: r.id)
def test_rewrite_is_documented_and_exemplified(rewrite: SourceRewrite) -> None:
    doc = rewrite.doc()
    for heading in ("What it fixes:", "Why it fails:", "Safety:", "References:"):
        assert heading in doc, f"{rewrite.id} docstring lacks {heading}"
    assert rewrite.triggers and rewrite.answers and rewrite.title
    changing = [e for e in rewrite.examples if e.after is not None and e.after != e.before]
    leaving = [e for e in rewrite.examples if e.after is None]
    if rewrite.safety is Safety.DISPLAY_ONLY:
        assert not changing and any(e.warns for e in rewrite.examples)
    else:
        assert changing, f"{rewrite.id} has no before/after example"
    assert leaving, f"{rewrite.id} has no example of code it must leave alone"
    for example in changing + [e for e in rewrite.examples if e.warns]:  # the pre-filter must not hide a real match
        assert rewrite.could_match(example.before), f"{rewrite.id}: the pre-filter skips an example it should change"


def test_ids_unique_and_catalog_is_tensorflow_free() -> None:
    assert len({r.id for r in SOURCE_CATALOG}) == len(SOURCE_CATALOG)
    code = ("import sys, repair.codemod, rewrites.source, repair.cli; "
            "assert 'tensorflow' not in sys.modules, 'the codemod imported tensorflow'")
    subprocess.run([sys.executable, "-c", code], check=True)
