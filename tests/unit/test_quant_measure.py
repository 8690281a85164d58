"""The budget's metrics on hand-made arrays: what each measures, its direction, and the edges (all-zero outputs, a
single logit, NaN, a term naming no output)."""

from __future__ import annotations

import math

import numpy as np

from repair.core.options import BudgetTerm, Metric
from repair.quantize.measure import score


def _scores(expected: list[np.ndarray], got: list[np.ndarray], *terms: BudgetTerm, outputs: tuple[str, ...] = ("y",)):
    return score(tuple({"y": e} for e in expected), tuple({"y": g} for g in got), outputs, terms)


def test_max_abs_is_the_largest_gap_over_every_element_of_every_sample() -> None:
    (s,) = _scores([np.zeros((1, 3)), np.ones((1, 3))], [np.array([[0.0, 0.1, 0.0]]), np.array([[1.0, 1.0, 0.7]])],
                   BudgetTerm(Metric.MAX_ABS, 0.25))
    assert math.isclose(s.achieved, 0.3) and not s.ok


def test_cosine_is_the_mean_of_per_sample_cosines_and_two_zero_outputs_agree() -> None:
    (s,) = _scores([np.array([[1.0, 0.0]]), np.zeros((1, 2))], [np.array([[0.0, 1.0]]), np.zeros((1, 2))],
                   BudgetTerm(Metric.COSINE, 0.4))
    assert math.isclose(s.achieved, 0.5) and s.ok  # (0 + 1) / 2


def test_top1_counts_rows_whose_argmax_agrees_and_a_single_logit_by_its_sign() -> None:
    (s,) = _scores([np.array([[0.1, 0.9], [0.8, 0.2]])], [np.array([[0.2, 0.7], [0.1, 0.3]])], BudgetTerm(Metric.TOP1, 0.5))
    assert s.achieved == 0.5 and s.ok
    (s,) = _scores([np.array([[2.0], [-1.0], [0.5]])], [np.array([[1.5], [0.2], [0.4]])], BudgetTerm(Metric.TOP1, 0.9))
    assert math.isclose(s.achieved, 2 / 3) and not s.ok


def test_nan_in_the_quantized_output_fails_every_metric() -> None:
    for metric, limit in ((Metric.MAX_ABS, 1e9), (Metric.COSINE, 0.0), (Metric.TOP1, 0.0)):
        (s,) = _scores([np.ones((1, 2))], [np.array([[np.nan, 1.0]])], BudgetTerm(metric, limit))
        assert math.isnan(s.achieved) and not s.ok


def test_a_term_applies_to_its_output_only_and_one_naming_no_output_fails() -> None:
    expected = ({"a": np.ones((1, 2)), "b": np.ones((1, 2))},)
    got = ({"a": np.ones((1, 2)), "b": np.zeros((1, 2))},)
    scores = score(expected, got, ("a", "b"), (BudgetTerm(Metric.MAX_ABS, 0.1, "a"), BudgetTerm(Metric.COSINE, 0.9)))
    assert [(s.output, s.metric, s.ok) for s in scores] == [
        ("a", Metric.MAX_ABS, True), ("a", Metric.COSINE, True), ("b", Metric.COSINE, False)]
    (s,) = score(expected, got, ("a", "b"), (BudgetTerm(Metric.TOP1, 0.5, "missing"),))
    assert s.output == "missing" and not s.ok


def test_cosine_of_one_number_per_sample_is_taken_across_the_samples() -> None:
    """Per sample it would be the sign agreement: one near-zero output flipping sign would cost 2/N."""
    expected = [np.array([[v]]) for v in (3.0, -2.0, 0.001, 5.0)]
    got = [np.array([[v]]) for v in (2.9, -2.1, -0.002, 5.1)]
    (s,) = _scores(expected, got, BudgetTerm(Metric.COSINE, 0.99))
    assert s.achieved > 0.99 and s.ok
