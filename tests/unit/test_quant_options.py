"""--quantize's request without TensorFlow: the budget grammar, the metrics' direction, the recipe's round trip, and
the calibration data (a --calibration file's validation, split and lossless casts; generated samples)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repair.core.errors import BadInput, ExitCode
from repair.core.options import DEFAULT_BUDGET, BudgetTerm, Metric, Options, Quantize, QuantMode, parse_budget
from repair.model.working import Port
from repair.quantize import Recipe
from repair.quantize import calibration as cal

IMAGE = Port("image", "input_1", "input_1", "float32", (None, 4, 4, 3))
IDS = Port("ids", "ids", "ids", "int32", (None, 5))


def test_budget_terms_parse_with_outputs_and_several_per_flag() -> None:
    terms = parse_budget(("max_abs=0.05", "cosine=0.999,probs:top1=0.99"))
    assert terms == (BudgetTerm(Metric.MAX_ABS, 0.05), BudgetTerm(Metric.COSINE, 0.999),
                     BudgetTerm(Metric.TOP1, 0.99, "probs"))
    assert [t.text for t in terms] == ["max_abs=0.05", "cosine=0.999", "probs:top1=0.99"]
    assert parse_budget(()) == ()


@pytest.mark.parametrize(("text", "words"), [
    ("cosine", "is not METRIC=LIMIT"),
    ("l2=0.1", "unknown metric 'l2'"),
    ("cosine=high", "'high' is not a number"),
    ("cosine=1.5", "between 0 and 1"),
    ("max_abs=-1", "a limit >= 0"),
    ("top1=nan", "between 0 and 1"),
])
def test_bad_budgets_name_the_flag_and_the_problem(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_budget((text,))
    assert str(info.value).startswith(f"--budget {text}:") and words in str(info.value)


def test_metrics_hold_in_their_direction_and_nan_never_holds() -> None:
    assert Metric.MAX_ABS.holds(0.04, 0.05) and not Metric.MAX_ABS.holds(0.06, 0.05)
    assert Metric.COSINE.holds(0.9995, 0.999) and not Metric.COSINE.holds(0.99, 0.999)
    assert Metric.TOP1.holds(1.0, 0.99) and Metric.TOP1.holds(0.99, 0.99)
    assert not any(m.holds(float("nan"), 0.5) for m in Metric)


def test_default_budget_covers_every_mode() -> None:
    assert set(DEFAULT_BUDGET) == set(QuantMode)
    assert Quantize(QuantMode.INT8).terms == DEFAULT_BUDGET[QuantMode.INT8]
    assert Quantize(QuantMode.INT8, budget=(BudgetTerm(Metric.TOP1, 0.9),)).terms == (BudgetTerm(Metric.TOP1, 0.9),)
    assert [m for m in QuantMode if m.calibrated] == [QuantMode.INT8, QuantMode.INT16X8]


def test_recipe_round_trips_through_json() -> None:
    recipe = Recipe(QuantMode.INT8, "uint8", ("model/dense_1/MatMul;model/dense_1/BiasAdd", "Softmax:0"))
    again = Recipe.from_json(json.loads(json.dumps(recipe.to_json())))
    assert again == recipe
    assert Recipe.from_json({"mode": "float16"}) == Recipe(QuantMode.FLOAT16)


# The calibration data: no model is built; the ports are what a working model's serving entry would hold.


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "calibration.npz"
    np.savez(path, **arrays)
    return path


def test_a_file_is_split_and_the_last_quarter_is_held_out(tmp_path: Path) -> None:
    images = np.random.default_rng(0).standard_normal((20, 4, 4, 3)).astype(np.float32)
    path = _npz(tmp_path, input_1=images)  # the original key is accepted, like --sample
    data = cal.from_file(path, (IMAGE,), Options(), held_out=0)
    assert len(data.calibration) == 15 and len(data.held_out) == 5 and not data.generated and data.notes == ()
    assert all(s["image"].shape == (1, 4, 4, 3) for s in data.calibration + data.held_out)
    assert np.array_equal(data.held_out[0]["image"][0], images[15])
    assert data.source == "calibration.npz (20 samples: 15 calibration, 5 held out)"
    capped = cal.from_file(path, (IMAGE,), Options(), held_out=2)
    assert len(capped.calibration) == 18 and len(capped.held_out) == 2
    tiny = cal.from_file(_npz(tmp_path, image=images[:2]), (IMAGE,), Options(), held_out=64)
    assert len(tiny.calibration) == 1 and len(tiny.held_out) == 1


def test_lossless_casts_are_made_and_noted(tmp_path: Path) -> None:
    ids = np.random.default_rng(1).integers(0, 50, (8, 5)).astype(np.float32)  # ids saved as float
    pixels = np.random.default_rng(2).integers(0, 256, (8, 4, 4, 3)).astype(np.uint8)  # images saved as uint8
    data = cal.from_file(_npz(tmp_path, ids=ids, image=pixels), (IMAGE, IDS), Options(), held_out=0)
    assert data.calibration[0]["ids"].dtype == np.int32 and data.calibration[0]["image"].dtype == np.float32
    assert np.array_equal(data.calibration[0]["ids"][0], ids[0].astype(np.int32))
    assert data.notes == ("input 'image': uint8 array cast to float32 (all 384 values exact)",
                          "input 'ids': float32 array cast to int32 (all 40 values integral)")


@pytest.mark.parametrize(("arrays", "words"), [
    ({"ids": np.full((4, 5), 0.5, np.float32)}, "input 'ids' is int32, the array is float32 with non-integral values (e.g. 0.5)"),
    ({"ids": np.full((4, 5), 2**40, np.int64)}, "outside int32's range"),
    ({"ids": np.zeros((4, 5), np.int32), "extra": np.zeros((4,))}, "'extra' names no input"),
    ({"idz": np.zeros((4, 5), np.int32)}, "no array for input 'ids' (inputs: ids); the file has 'idz'"),
    ({"ids": np.zeros((4, 6), np.int32)}, "takes samples of shape [?,5] stacked along axis 0"),
    ({"ids": np.zeros((1, 5), np.int32)}, "holds 1 sample; give at least 2"),
    ({"ids": np.array([["a"] * 5] * 4)}, "input 'ids' is int32, the array is <U1 (not a number)"),
])
def test_files_that_cannot_feed_the_input_are_bad_input(tmp_path: Path, arrays: dict[str, np.ndarray], words: str) -> None:
    with pytest.raises(BadInput) as info:
        cal.from_file(_npz(tmp_path, **arrays), (IDS,), Options(), held_out=0)
    message = str(info.value)
    assert info.value.exit_code is ExitCode.BAD_INPUT and message.startswith(f"--calibration {tmp_path}")
    assert words in message and "\n" not in message


def test_int_arrays_a_float_input_cannot_hold_exactly_are_refused(tmp_path: Path) -> None:
    big = np.full((4, 4, 4, 3), 2**24 + 1, np.int64)
    with pytest.raises(BadInput, match="float32 cannot hold exactly"):
        cal.from_file(_npz(tmp_path, image=big), (IMAGE,), Options(), held_out=0)


def test_the_samples_axis_is_checked_against_a_fixed_batch(tmp_path: Path) -> None:
    fixed = Port("x", "x", "x", "float32", (4, 3))
    with pytest.raises(BadInput, match=r"input 'x' \[4,3\] has a fixed batch of 4"):
        cal.from_file(_npz(tmp_path, x=np.zeros((8, 3), np.float32)), (fixed,), Options(), held_out=0)
    one = Port("x", "x", "x", "float32", (1, 3))
    assert len(cal.from_file(_npz(tmp_path, x=np.zeros((8, 3), np.float32)), (one,), Options(), held_out=0).held_out) == 2


def test_generated_samples_use_two_seeds_and_the_pins(tmp_path: Path) -> None:
    seq = Port("tokens", "tokens", "tokens", "float32", (None, None, 3))
    options = Options(seed=7, pins={"tokens": (1, 6, 3)})
    data = cal.generated((seq, IDS), options, count=5, held_out=3)
    assert data.generated and len(data.calibration) == 5 and len(data.held_out) == 3
    assert data.calibration[0]["tokens"].shape == (1, 6, 3) and data.calibration[0]["ids"].dtype == np.int32
    assert not np.array_equal(data.calibration[0]["tokens"], data.held_out[0]["tokens"])
    assert "seed 7" in data.source and "seed 8" in data.source
    again = cal.generated((seq, IDS), options, count=5, held_out=3)
    assert np.array_equal(again.calibration[4]["tokens"], data.calibration[4]["tokens"])
    bounded = cal.generated((IDS,), Options(), count=4, held_out=2, int_high={"ids": 3})
    assert max(int(s["ids"].max()) for s in bounded.calibration) < 3


def test_sample_rows_become_the_held_out_set(tmp_path: Path) -> None:
    data = cal.generated((IDS,), Options(), count=4, held_out=2)
    sample = tmp_path / "sample.npz"
    np.savez(sample, ids=np.arange(15, dtype=np.int32).reshape(3, 5))
    replaced = cal.held_out_from_sample(data, sample, (IDS,), Options())
    assert len(replaced.held_out) == 3 and replaced.calibration == data.calibration
    assert np.array_equal(replaced.held_out[2]["ids"], np.arange(10, 15, dtype=np.int32).reshape(1, 5))
    assert "sample.npz (3 samples, --sample)" in replaced.source
    with pytest.raises(BadInput, match=r"^--sample .*no array for input 'ids'"):
        np.savez(sample, other=np.zeros((3, 5), np.int32))
        cal.held_out_from_sample(data, sample, (IDS,), Options())

