"""Meta-tests over the catalog: every rewrite is documented, unique, and proven by the corpus cases it declares."""

from __future__ import annotations

import pytest

from corpora import all_cases
from repair.core.findings import WORDING, FindingKind, Wording
from repair.fix.rewrite import Safety
from rewrites import BY_ID, CATALOG

HEADINGS = ("What it fixes:", "Why it fails:", "Safety:", "References:")


@pytest.mark.parametrize("rewrite", CATALOG, ids=lambda r: r.id)
def test_rewrite_is_documented(rewrite) -> None:  # type: ignore[no-untyped-def]
    doc = rewrite.doc()
    for heading in HEADINGS:
        assert heading in doc, f"{rewrite.id} lacks '{heading}'"
    assert rewrite.answers and rewrite.title
    assert isinstance(rewrite.safety, Safety)
    assert rewrite.safety.value in doc.split("Safety:")[1].split("References:")[0]


def test_ids_are_unique_and_snake_case() -> None:
    assert len(BY_ID) == len(CATALOG)
    for rid in BY_ID:
        assert rid.replace("_", "").isalnum() and rid.islower()


@pytest.mark.parametrize("rewrite", CATALOG, ids=lambda r: r.id)
def test_every_rewrite_has_a_corpus_case(rewrite) -> None:  # type: ignore[no-untyped-def]
    proven = {rid for case in all_cases() for rid in case.expect.rewrites}
    assert rewrite.id in proven, f"no corpus case expects {rewrite.id} to be applied"


@pytest.mark.parametrize("rewrite", CATALOG, ids=lambda r: r.id)
def test_declared_cases_exist_and_expect_the_rewrite(rewrite) -> None:  # type: ignore[no-untyped-def]
    """Each case a rewrite lists is a corpus case whose Expect names the rewrite (the wild corpus is judged by
    tests/e2e/test_wild.py, not listed)."""
    cases = {case.id: case for case in all_cases()}
    assert rewrite.cases, f"{rewrite.id} declares no corpus case"
    assert len(set(rewrite.cases)) == len(rewrite.cases), f"{rewrite.id} lists a case twice"
    for case_id in rewrite.cases:
        assert case_id in cases, f"{rewrite.id} lists {case_id}, which is not a corpus case"
        assert rewrite.id in cases[case_id].expect.rewrites, f"{case_id} does not expect {rewrite.id}"


def test_every_case_that_expects_a_rewrite_is_declared_by_it() -> None:
    for case in all_cases():
        for rid in case.expect.rewrites:
            assert case.id in BY_ID[rid].cases, f"{case.id} expects {rid}, which does not list it in its cases"


def test_every_finding_kind_has_its_wording() -> None:
    assert list(WORDING) != [] and set(WORDING) == set(FindingKind)
    for kind, wording in WORDING.items():
        assert isinstance(wording, Wording) and wording.title and wording.explanation, kind


def test_every_finding_kind_has_a_fix_or_a_next_step() -> None:
    answered = {k for r in CATALOG for k in r.answers}
    artifact_only = {FindingKind.KERAS_FILE}
    for kind in FindingKind:
        assert kind in answered or WORDING[kind].no_fix or kind in artifact_only, kind


def test_corpus_expectations_name_real_ids() -> None:
    kinds = {k.value for k in FindingKind}
    for case in all_cases():
        assert case.expect.findings <= kinds, case.id
        assert case.expect.absent <= kinds, case.id
        assert set(case.expect.rewrites) <= set(BY_ID), case.id
        assert case.id.count("/") == 1
