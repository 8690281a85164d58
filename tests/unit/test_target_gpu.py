"""The ported GPU rules on hand-made node signatures: what no small converted model reaches (no model is built here)."""

from __future__ import annotations

from typing import Any

from repair.targets.gpu import TYPE_REASON, _check_node, _Sig, _Spec, _type_reason, check_gpu


class _Opts:
    """Stands in for a schema options table: each attribute is read through a call, as the generated code does."""

    def __init__(self, **values: Any) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        return lambda: self._values.get(name, 0)


def _t(dims: list[int], type_: str = "FLOAT32", const: bool = False) -> _Spec:
    return _Spec(type=type_, dims=dims, is_const=const, name="t")


def test_unlisted_and_custom_ops_are_refused() -> None:
    assert _check_node(_Sig("WHILE", False, None, [_t([1])], [_t([1])])) == "Not supported op WHILE"
    assert _check_node(_Sig("FlexTopKV2", True, None, [_t([1])], [_t([1])])) == "Not supported custom op FlexTopKV2"


def test_enhanced_broadcast() -> None:
    ok = _Sig("ADD", False, None, [_t([1, 8, 8, 3]), _t([8, 1, 3])], [_t([1, 8, 8, 3])])
    assert _check_node(ok) is None
    bad = _Sig("ADD", False, None, [_t([1, 8, 8, 3]), _t([4, 3])], [_t([1, 8, 8, 3])])
    assert _check_node(bad) == "Doesn't support broadcasting - input0: [1,8,8,3], input1: [4,3]"


def test_mul_matrix_vector_is_refused() -> None:
    sig = _Sig("MUL", False, _Opts(), [_t([1, 256, 1]), _t([1, 1, 256])], [_t([1, 256, 256])])
    assert _check_node(sig) == "MUL requires one tensor that not less than second in all dimensions."


def test_depthwise_multiplier_and_pad_shapes() -> None:
    dw = _Sig(
        "DEPTHWISE_CONV_2D",
        False,
        _Opts(StrideW=1, StrideH=1, DilationWFactor=1, DilationHFactor=1, DepthMultiplier=2),
        [_t([1, 8, 8, 3]), _t([1, 3, 3, 6], const=True), _t([6], const=True)],
        [_t([1, 8, 8, 6])],
    )
    assert _check_node(dw) == "depth_multiplier != 1 && input.c != 1"
    pad = _Sig("PAD", False, None, [_t([1, 2, 2, 2, 3]), _t([5, 2], "INT32", const=True)], [_t([1, 4, 4, 4, 3])])
    assert _check_node(pad) == "Invalid paddings tensor shape: expected 4x2 or 3x2, got 5x2"
    mirror = _Sig("MIRROR_PAD", False, _Opts(Mode=1), [_t([1, 2, 2, 3]), _t([4, 2], "INT32", const=True)], [_t([1, 4, 4, 3])])
    assert _check_node(mirror) == "Only Reflective padding is supported for Mirror Pad operation. But node has 2"


def test_reduce_axes_must_be_const_int32() -> None:
    sig = _Sig("SUM", False, None, [_t([1, 4, 4, 3]), _t([2], "INT64", const=True)], [_t([1, 3])])
    assert _check_node(sig) == "SUM supports int32 tensor for axes. But node has INT64"


def test_int64_runtime_tensor_is_refused_but_int32_is_held() -> None:
    int64 = _Sig("RESHAPE", False, None, [_t([4], "INT64"), _t([2], "INT32", const=True)], [_t([2, 2], "INT64")])
    assert _check_node(int64) is None
    reason = _type_reason(int64)
    assert reason is not None and reason.startswith(TYPE_REASON) and "INT64" in reason
    int32 = _Sig("RESHAPE", False, None, [_t([4], "INT32"), _t([2], "INT32", const=True)], [_t([2, 2], "INT32")])
    assert _type_reason(int32) is None


def test_garbage_is_an_error_report() -> None:
    for blob in (b"", b"\x00" * 16, b"1234TFL3" + b"\xff" * 64):
        report = check_gpu(blob)
        assert not report.ok and report.error
