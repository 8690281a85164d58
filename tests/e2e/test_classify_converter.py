"""The classifier against the real converter: each corpus model's conversion fails and is classified as its class."""

from __future__ import annotations

import pytest

from repair.core.findings import FindingKind
from repair.model.convert import convert_saved_model
from repair.model.working import open_saved_model
from tests.conftest import Corpus


@pytest.mark.slow
@pytest.mark.parametrize(
    "case_id, kind, ops",
    [
        ("ops/flex_roll", FindingKind.NEEDS_FLEX_OPS, ("Roll",)),
        ("ops/custom_cross", FindingKind.NEEDS_CUSTOM_OPS, ("Cross",)),
        ("ops/py_function", FindingKind.NEEDS_CUSTOM_OPS, ("EagerPyFunc",)),
        ("ops/float64_model", FindingKind.FLOAT64_OPS, None),
        ("ops/tnp_arange", FindingKind.FLOAT64_OPS, None),
        ("ops/mixed_float16_export", FindingKind.FLOAT16_OPS, ("BiasAdd", "Conv2D", "MatMul", "Relu")),
        ("loops/keras_lstm", FindingKind.TENSORLIST_LOOP, None),
        ("loops/tensorarray", FindingKind.TENSORLIST_LOOP, None),
        ("loops/tensorarray_straight_line", FindingKind.TENSORLIST_LOOP, ("TensorListReserve",)),
        ("loops/keras_tensorarray_layer", FindingKind.TENSORLIST_LOOP, ("TensorListReserve",)),
        ("signatures/parse_example", FindingKind.NEEDS_FLEX_OPS, ("ParseExampleV2",)),
    ],
)
def test_real_converter_failures(corpus: Corpus, case_id: str, kind: FindingKind, ops: tuple[str, ...] | None) -> None:
    model = open_saved_model(corpus.artifact(case_id))
    conversion = convert_saved_model(model.path)
    assert not conversion.ok
    kinds = {c.kind: c for c in conversion.classified}
    assert kind in kinds, (conversion.error_codes, conversion.text[:2000])
    if ops is not None:
        assert kinds[kind].ops == ops
    assert FindingKind.CONVERTER_ERROR not in kinds


@pytest.mark.slow
def test_real_tag_error_text(corpus: Corpus) -> None:
    conversion = convert_saved_model(corpus.artifact("tags/serve_gpu"))
    assert [c.kind for c in conversion.classified] == [FindingKind.TAG_SET_NOT_SERVE]
    assert "could not be found in SavedModel" in conversion.text
