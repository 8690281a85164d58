"""Parity inputs and comparison: seeded, valid for the model, strict about NaN and shape."""

from __future__ import annotations

import numpy as np

from repair.core.options import Tolerance
from repair.model.parity import compare, generate
from repair.model.working import Port

FLOAT = Port("x", "x", "x", "float32", (None, None, 3))
IDS = Port("ids", "ids", "ids", "int32", (None, 5))
OUT = (Port("y", "y", "y", "float32", (None, 2)),)


def test_generation_is_seeded_and_shaped() -> None:
    a = generate((FLOAT, IDS), seed=3, batch=2, other_dim=7)
    b = generate((FLOAT, IDS), seed=3, batch=2, other_dim=7)
    assert a["x"].shape == (2, 7, 3) and a["x"].dtype == np.float32
    assert a["ids"].shape == (2, 5) and a["ids"].dtype == np.int32
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_tolerance_is_atol_plus_rtol() -> None:
    ref = {"y": np.array([[100.0, 1.0]])}
    ok = compare(ref, {"y": np.array([[100.009, 1.0]])}, OUT, Tolerance(atol=1e-5, rtol=1e-4))
    bad = compare(ref, {"y": np.array([[100.0, 1.001]])}, OUT, Tolerance(atol=1e-5, rtol=1e-4))
    assert ok.ok and not bad.ok
    assert abs(bad.worst - 0.001) < 1e-9


def test_nan_and_shape_mismatch_fail() -> None:
    ref = {"y": np.array([[1.0, 2.0]])}
    assert not compare(ref, {"y": np.array([[np.nan, 2.0]])}, OUT, Tolerance()).ok
    assert not compare(ref, {"y": np.array([1.0, 2.0])}, OUT, Tolerance()).ok
    assert compare({"y": np.array([np.nan])}, {"y": np.array([np.nan])}, OUT, Tolerance()).ok


def test_outputs_are_matched_by_origin() -> None:
    renamed = (Port("probabilities", "scores", "scores", "float32", (None, 2)),)
    parity = compare({"scores": np.ones((1, 2))}, {"probabilities": np.ones((1, 2))}, renamed, Tolerance())
    assert parity.ok and parity.outputs[0].origin == "scores"
