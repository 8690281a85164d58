"""The ``gpu`` target: would the LiteRT GPU delegate take every node of this .tflite?

The TensorFlow pip wheel does not contain the GPU compatibility checker: ``tf.lite.experimental.Analyzer`` with
``gpu_compatibility=True`` prints "looks compatible" for any model (a TOPK_V2 included), so the check is ported here
from TensorFlow's own rules and run over the flatbuffer in pure Python (milliseconds, no interpreter):

- per node, ``CheckGpuDelegateCompatibility`` of tensorflow/lite/tools/versioning/gpu_compatibility.cc (TensorFlow
  commit 03a5e4e19a9c8200e13c85f1c637877fdf589be6): the supported builtin ops, their runtime/const input and output
  counts, their attribute rules, with the .cc's own reason texts (users search for them), and the "enhanced
  broadcast" flag the offline check assumes;
- the node's tensor specs as tensorflow/lite/tools/versioning/op_signature.cc (commit 05abf38d) builds them: a const
  input is a tensor whose buffer holds data, an absent optional input (index -1) has no type and is no runtime input;
- from tensorflow/lite/delegates/gpu/common/model_builder.cc (commit 9a5c30170e25d007fee6f7176d12b42438805d0b,
  ``IsAllAllowedTensors`` in ``GetOpsToReplace``): a node the rules accept is still refused when a non-constant
  tensor it reads or writes has a type the delegate cannot hold. That version allows only float32/float16 (int8/uint8
  with quantized ops, the delegate's default); later versions of gpu_compatibility.cc accept int32 and bool tensors
  (CAST, GATHER indices, SELECT conditions), so this port refuses only the types no version allows: int64, float64,
  string, and the rest outside float32/float16/int8/uint8/int32/bool;
- what the .cc does not see: a -1 anywhere in a tensor's ``shape_signature`` (the delegate only supports
  static-sized tensors), named by the node that produces the tensor, or as an input.

Every subgraph is checked; control-flow ops (WHILE, IF, CALL_ONCE) are not in the supported list, so they are refused
like any other op the delegate lacks.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from repair.core.options import Target
from repair.targets import Offender, TargetReport

DYNAMIC_REASON = "dynamic shape: the GPU delegate only supports static-sized tensors"
TYPE_REASON = "OP is supported, but tensor type isn't matched!"  # model_builder.cc's wording

# Types a non-constant tensor of a delegated node may have (see the module docstring for the source of the rule).
_HELD_TYPES = frozenset({"FLOAT32", "FLOAT16", "INT8", "UINT8", "INT32", "BOOL"})

# TfLiteType's numbering (tensorflow/lite/core/c/c_api_types.h): the DYNAMIC_UPDATE_SLICE message prints a type as
# this number, which differs from the flatbuffer's TensorType numbering.
_TFLITE_TYPE_NUMBER = {
    "NOTYPE": 0, "FLOAT32": 1, "INT32": 2, "UINT8": 3, "INT64": 4, "STRING": 5, "BOOL": 6, "INT16": 7,
    "COMPLEX64": 8, "INT8": 9, "FLOAT16": 10, "FLOAT64": 11, "COMPLEX128": 12, "UINT64": 13, "RESOURCE": 14,
    "VARIANT": 15, "UINT32": 16, "UINT16": 17, "INT4": 18, "BFLOAT16": 19,
}  # fmt: skip

# TfLiteFusedActivation values (same numbers as the schema's ActivationFunctionType for the ones a model can carry).
_ACT_SIGN_BIT = 5
_ACT_SIGMOID = 6
_ACT_TANH = 4


def _schema() -> Any:
    """The flatbuffer schema LiteRT ships: reading the model this way does not import TensorFlow (seconds)."""
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


class _Refused(Exception):
    """One rule of the .cc failed; its message is the .cc's status message."""


@dataclass
class _Spec:
    """OpSignatureTensorSpec: what the .cc knows of one input or output."""

    type: str  # TfLiteTypeGetName's name, "NOTYPE" for an absent optional input
    dims: list[int] = field(default_factory=list)
    is_const: bool = False
    name: str = ""
    index: int = -1
    is_variable: bool = False


@dataclass
class _Sig:
    """OpSignature: the op, its options (None when the op has none or is custom), its tensors."""

    op: str  # builtin name, or the custom op's name when custom
    custom: bool
    opts: Any
    inputs: list[_Spec]
    outputs: list[_Spec]
    custom_data: bytes = b""


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise _Refused(message)


def _opt(sig: _Sig, attr: str) -> Any:
    """An option's value; a missing options table reads as the zero-initialised C struct ParseOpData allocates."""
    if sig.opts is None:
        return 0
    return getattr(sig.opts, attr)()


# ---- the .cc's helpers --------------------------------------------------------------------------------------------


def _num_elements(dims: Sequence[int]) -> int:
    count = 1
    for d in dims:
        count *= d
    return count


def _runtime_inputs(sig: _Sig) -> int:
    return sum(1 for t in sig.inputs if not t.is_const and t.type != "NOTYPE")


def _check_activation(activation: int) -> None:
    _need(activation != _ACT_SIGN_BIT, "TfLiteFusedActivation.kTfLiteActSignBit")


def _check_inputs_outputs(sig: _Sig, runtime: int, outputs: int) -> None:
    have = _runtime_inputs(sig)
    _need(have == runtime, f"Expected {runtime} runtime input tensor(s), but node has {have} runtime input(s).")
    n_out = len(sig.outputs)
    _need(n_out == outputs, f"Expected {outputs} output tensor(s), but node has {n_out} output(s).")


def _check_inputs_consts_outputs(sig: _Sig, runtime: int, consts: int, outputs: int) -> None:
    have = sum(1 for t in sig.inputs if t.is_const)
    _need(have == consts, f"Expected {consts} const input tensor(s), but node has {have} const input(s).")
    _check_inputs_outputs(sig, runtime, outputs)


def _passes(check: Callable[[], None]) -> bool:
    try:
        check()
    except _Refused:
        return False
    return True


def _check_available(sig: _Sig, idx: int) -> None:
    n = len(sig.inputs)
    _need(idx < n, f"Requested index goes beyond array size: {idx} vs {n}")


def _check_convolution_io(sig: _Sig) -> None:
    runtime = _runtime_inputs(sig)
    _need(runtime <= 2, f"Expected 1 or 2 input tensor(s), but node has {runtime} runtime inputs.")
    n_out = len(sig.outputs)
    _need(n_out == 1, f"Expected 1 output tensor(s), but node has {n_out} runtime outputs.")
    if runtime == 1:
        _check_available(sig, 1)


def _check_strides(h: int, w: int) -> None:
    _need(h > 0 and w > 0, f"Incorrect stride values: stride_height = {h}, stride_width = {w}")


def _check_dilation(h: int, w: int) -> None:
    _need(h > 0 and w > 0, f"Incorrect dilation values: dilation_height = {h}, dilation_width = {w}")


def _check_kernels(h: int, w: int) -> None:
    _need(h > 0 and w > 0, f"Incorrect kernel values: kernel_height = {h}, kernel_width = {w}")


def _check_axes_int32_const(sig: _Sig, idx: int) -> None:
    _check_available(sig, idx)  # the .cc's .at() would throw; an out-of-range index is a refusal here
    axes = sig.inputs[idx]
    _need(axes.is_const, f"{sig.op} is only supported with constant axes.")
    _need(axes.type == "INT32", f"{sig.op} supports int32 tensor for axes. But node has {axes.type}")


def _custom_ints(sig: _Sig, count: int) -> list[int] | None:
    """The custom op's initial data read as the C params struct's leading ints (the delegate reinterprets the bytes)."""
    if not sig.custom_data:
        return None
    data = sig.custom_data.ljust(4 * count, b"\0")
    return list(struct.unpack_from(f"<{count}i", data))


def _check_pooling(sig: _Sig) -> None:
    # TfLitePoolParams: padding, stride_width, stride_height, filter_width, filter_height, activation.
    if sig.custom:
        params = _custom_ints(sig, 6)
        if params is None:
            # No custom data: the .cc falls back to the builtin data, which a custom op does not have.
            raise _Refused("Unable to retrieve builtin_data.")
        _check_inputs_outputs(sig, 1, 2)
        _, stride_w, stride_h, filter_w, filter_h, activation = params
    else:
        _check_inputs_outputs(sig, 1, 1)
        stride_w, stride_h = _opt(sig, "StrideW"), _opt(sig, "StrideH")
        filter_w, filter_h = _opt(sig, "FilterWidth"), _opt(sig, "FilterHeight")
        activation = _opt(sig, "FusedActivationFunction")
    _check_kernels(filter_h, filter_w)
    _check_strides(stride_h, stride_w)
    _check_activation(activation)


def _check_depthwise(sig: _Sig) -> None:
    _check_convolution_io(sig)
    _check_strides(_opt(sig, "StrideH"), _opt(sig, "StrideW"))
    _check_dilation(_opt(sig, "DilationHFactor"), _opt(sig, "DilationWFactor"))
    _check_activation(_opt(sig, "FusedActivationFunction"))
    multiplier = _opt(sig, "DepthMultiplier")
    _need(len(sig.inputs) >= 2, f"Requested index goes beyond array size: 1 vs {len(sig.inputs)}")
    inp, flt, out = sig.inputs[0], sig.inputs[1], sig.outputs[0]
    bias = sig.inputs[2] if len(sig.inputs) > 2 else None
    _need(len(inp.dims) == 4, "input.dims.size != 4")
    _need(len(flt.dims) == 4, "filter.dims.size != 4")
    _need(len(out.dims) == 4, "output.dims.size != 4")
    _need(inp.dims[0] == out.dims[0], "input.b != output.b")
    in_depth, out_depth = inp.dims[3], out.dims[3]
    _need(flt.dims[3] == out_depth, "filter.i != output.c")
    _need(out_depth == in_depth * multiplier, "output.c != input.c * depth_multiplier")
    # An absent bias (index -1) has no dims; the .cc counts one element for it, like any empty shape.
    _need(bias is None or _num_elements(bias.dims) == out_depth, "bias.size != output.c")
    _need(multiplier == 1 or in_depth == 1, "depth_multiplier != 1 && input.c != 1")


def _check_cumsum(sig: _Sig) -> None:
    _need(len(sig.inputs) == 2, "Expects 2 inputs and 1 output")
    ok = (
        sig.inputs[0].type in ("FLOAT16", "FLOAT32")
        and bool(sig.outputs)
        and sig.outputs[0].type == sig.inputs[0].type
        and sig.inputs[1].type == "INT32"
        and sig.inputs[1].is_const
    )
    _need(ok, "Input/output must be float type and indices must be constant int32 type")


def _check_one_hot(sig: _Sig) -> None:
    _need(len(sig.inputs) == 4 or len(sig.outputs) == 1, "Expects 4 inputs and 1 output")
    error = "Indices must be int32 type, on/off tensors must be constant, scalar, float type, axis must be -1 or last dim"
    _need(len(sig.inputs) == 4, error)  # the .cc reads inputs 2 and 3 regardless; fewer is a refusal here
    indices = sig.inputs[0]
    _need(indices.type == "INT32", error)
    num_dims = len(indices.dims)
    axis = _opt(sig, "Axis")
    _need(axis == -1 or (num_dims > 0 and axis == indices.dims[num_dims - 1]), error)
    for i in range(num_dims - 1):
        if num_dims > 3 and i == 0:
            continue
        _need(indices.dims[i] == 1, f"Unspported non-singleton dim at {i}")  # sic, the .cc's spelling
    on, off = sig.inputs[2], sig.inputs[3]
    _need(on.type == "FLOAT32" and off.type == "FLOAT32", error)
    _need(on.is_const and off.is_const and len(on.dims) <= 1 and len(off.dims) <= 1, error)
    _need(not (on.dims and on.dims[0] > 1) and not (off.dims and off.dims[0] > 1), error)


def _check_select(sig: _Sig) -> None:
    _need(len(sig.inputs) == 3 and len(sig.outputs) == 1, "Expected 3 inputs and 1 output")
    error = (
        "Cond must be float or bool type, if, else tensors must be float and either be same the shape as output or "
        "constant, scalar."
    )
    cond, if_t, else_t = sig.inputs
    floats = ("FLOAT16", "FLOAT32")
    _need(cond.type in ("BOOL", *floats) and if_t.type in floats and else_t.type in floats, error)
    out_dims = sig.outputs[0].dims
    for t, which in ((if_t, "if"), (else_t, "else")):
        _need(not t.dims or t.dims == out_dims or (len(t.dims) <= 1 and t.dims[0] <= 1), error)
        _need(not (t.is_const and len(t.dims) == 2), f"2-D {which} tensor only supported if constant.")


def _check_custom(sig: _Sig) -> None:
    name = sig.op
    if name == "Convolution2DTransposeBias":
        _check_available(sig, 1)
        params = _custom_ints(sig, 3)  # TfLiteTransposeConvParams: padding, stride_width, stride_height
        _need(params is not None, "Unable to retrieve custom_initial_data.")
        assert params is not None
        _check_strides(params[2], params[1])
        return
    if name == "MaxPoolingWithArgmax2D":
        _check_pooling(sig)
        return
    if name == "MaxUnpooling2D":
        _check_inputs_outputs(sig, 2, 1)
        params = _custom_ints(sig, 5)
        _need(params is not None, "Unable to retrieve custom_initial_data.")
        assert params is not None
        _check_kernels(params[4], params[3])
        _check_strides(params[2], params[1])
        return
    if name == "Resampler":
        _check_inputs_outputs(sig, 2, 1)
        return
    raise _Refused(f"Not supported custom op {name}")


def _broadcastable(longer: list[int], shorter: list[int]) -> bool:
    i, j = len(longer) - 1, len(shorter) - 1
    for _ in range(max(i, j), -1, -1):
        a = 1 if i < 0 else longer[i]
        b = 1 if j < 0 else shorter[j]
        if a != b and a != 1 and b != 1:
            return False
        i -= 1
        j -= 1
    return True


def _check_add_mul_broadcast(in0: _Spec, in1: _Spec) -> None:
    # The offline checker runs with GpuCompatibilityFlags::kEnhancedBroadcast: general numpy-style broadcasting.
    if len(in0.dims) > 1 and len(in1.dims) > 1 and len(in0.dims) != len(in1.dims):
        longer, shorter = (in0.dims, in1.dims) if len(in0.dims) >= len(in1.dims) else (in1.dims, in0.dims)
        _need(
            _broadcastable(longer, shorter),
            f"Doesn't support broadcasting - input0: [{','.join(map(str, in0.dims))}], "
            f"input1: [{','.join(map(str, in1.dims))}]",
        )


# ---- per op ---------------------------------------------------------------------------------------------------------


def _check_add(sig: _Sig) -> None:
    _need(len(sig.inputs) == 2, "ADD requires two input tensors.")
    _check_add_mul_broadcast(sig.inputs[0], sig.inputs[1])


def _check_mul(sig: _Sig) -> None:
    _need(len(sig.inputs) == 2, "MUL requires two input tensors.")
    in0, in1 = sig.inputs
    if len(in0.dims) == len(in1.dims):
        first_smaller = any(a < b for a, b in zip(in0.dims, in1.dims, strict=True))
        second_smaller = any(b < a for a, b in zip(in0.dims, in1.dims, strict=True))
        _need(
            not (first_smaller and second_smaller),
            "MUL requires one tensor that not less than second in all dimensions.",
        )
    else:
        _check_add_mul_broadcast(in0, in1)
    _check_activation(_opt(sig, "FusedActivationFunction"))


def _check_batch_matmul(sig: _Sig) -> None:
    n_in, n_out = len(sig.inputs), len(sig.outputs)
    _need(n_in == 2 and n_out == 1, f"Expected 2 inputs and 1 output, got: {n_in} inputs and {n_out} outputs")


def _check_cast(sig: _Sig) -> None:
    _check_inputs_outputs(sig, 1, 1)
    src, dst = sig.inputs[0].type, sig.outputs[0].type
    floats = ("FLOAT16", "FLOAT32")
    ok = (
        (src == "BOOL" and dst in floats)
        or (src in floats and dst == "BOOL")
        or (src in ("FLOAT32", "INT32") and dst in ("FLOAT32", "INT32"))
    )
    _need(ok, f"Not supported Cast case. Input type: {src} and output type: {dst}")


def _check_conv(sig: _Sig) -> None:
    _check_convolution_io(sig)
    _check_strides(_opt(sig, "StrideH"), _opt(sig, "StrideW"))
    _check_dilation(_opt(sig, "DilationHFactor"), _opt(sig, "DilationWFactor"))
    _check_activation(_opt(sig, "FusedActivationFunction"))


def _check_block_size(sig: _Sig) -> None:
    _check_inputs_outputs(sig, 1, 1)
    block = _opt(sig, "BlockSize")
    _need(block != 1, f"{sig.op} block_size = 1 is a no-op.")
    _need(block >= 1, f"{sig.op} block_size must be > 1.")


def _check_dequantize(sig: _Sig) -> None:
    n_in, n_out = len(sig.inputs), len(sig.outputs)
    # The .cc passes printf placeholders to StrCat, so its message really reads "got: %d, %d1, 1".
    _need(n_in == 1 and n_out == 1, f"Expected 1 input & output each from Dequantize, got: %d, %d{n_in}, {n_out}")
    _need(sig.inputs[0].type != "INT16", "Unsupported dequantization type.")


def _check_embedding_lookup(sig: _Sig) -> None:
    n_in = len(sig.inputs)
    _need(n_in == 2, f"Expected 2, but got {n_in} inputs.")
    ids, values = sig.inputs
    _need(len(ids.dims) == 1, f"Expected 1D, but got {len(ids.dims)}D input #0.")
    _need(len(values.dims) >= 2, f"Expected > 1D, but got {len(values.dims)}D input #1.")
    _need(len(sig.outputs) == 1, f"Expected 1, but got {len(sig.outputs)} outputs.")
    out = sig.outputs[0]
    _need(len(values.dims) == len(out.dims), f"Expected {len(values.dims)}, but got {len(out.dims)} for output.")
    for i in range(1, len(out.dims)):
        _need(values.dims[i] == out.dims[i], f"Expected {values.dims[i]}, but got {out.dims[i]} for output.dim[{i}].")
    _need(values.type in ("INT8", "INT4", "FLOAT32"), f"Expected int8, int4, or float32, but got {values.type} for input #1.")


def _check_dynamic_update_slice(sig: _Sig) -> None:
    _need(len(sig.inputs) == 3, "DynamicUpdateSlice requires 3 inputs.")
    operand, update, start = sig.inputs
    _need(not (len(operand.dims) == 4 and operand.dims[0] != 1), "DynamicUpdateSlice only support 4D operand with batch size 1.")
    _need(len(start.dims) <= 1, "DynamicUpdateSlice only support 1D start_indices.")
    _need(
        operand.type == update.type,
        "Array to update and updated slice must have the same data type, but got: array to update: "
        f"{_TFLITE_TYPE_NUMBER.get(operand.type, -1)}, updated slice: {_TFLITE_TYPE_NUMBER.get(update.type, -1)}",
    )
    _need(len(start.dims) == 1, f"Start indices must have be 1D, but got: {len(start.dims)}")
    _need(start.type == "INT32", "start_indices must be of type int32.")
    _need(
        len(update.dims) == len(operand.dims),
        "Operand and update must have the same number of dimensions, but got: operand: "
        f"{len(operand.dims)}, update: {len(update.dims)}",
    )


def _check_fully_connected(sig: _Sig) -> None:
    fmt = _opt(sig, "WeightsFormat")
    _need(fmt == 0, f"Unsupported FullyConnected weights format: {fmt}")
    _need(_runtime_inputs(sig) <= 2, "FullyConnected doesn't support more than 2 runtime inputs.")
    _need(bool(sig.inputs) and not sig.inputs[0].is_const, "FullyConnected doesn't support constant input.")
    if _opt(sig, "KeepNumDims"):
        _need(
            len(sig.inputs[0].dims) == len(sig.outputs[0].dims),
            "Input and output dimensions different and FullyConnected doesn't support keep_num_dims.",
        )


def _check_gather(sig: _Sig) -> None:
    _need(
        _passes(lambda: _check_inputs_consts_outputs(sig, 2, 0, 1))
        or _passes(lambda: _check_inputs_consts_outputs(sig, 1, 1, 1)),
        "Op can only handle 1 or 2 operand(s).",
    )
    # The .cc's three messages below end in "\n"; the newline is dropped so a report line stays one line.
    _need(sig.inputs[0].type != "INT32", "Does not accept INT32 input.")
    _need(len(sig.inputs[1].dims) == 1, "Only support 1D indices")
    _need(sig.inputs[1].type == "INT32", "Only accept INT32 indices")


def _check_lstm(sig: _Sig) -> None:
    activation = _opt(sig, "FusedActivationFunction")
    if _opt(sig, "KernelType") == 0:  # kTfLiteLSTMFullKernel
        n_in = len(sig.inputs)  # absent optional inputs count: the .cc counts entries, not tensors
        _need(n_in in (20, 24), f"Expected 20 or 24 input tensors, but node has {n_in} input(s).")
        n_out = len(sig.outputs)
        _need(n_out == 1, f"Expected 1 output tensor, but node has {n_out} output(s).")
        _need(
            activation in (_ACT_SIGMOID, _ACT_TANH),
            f"Only sigmoid or tanh activation is supported, but node has {activation}",
        )
        return
    _check_inputs_consts_outputs(sig, 3, 2, 4)  # kTfLiteLSTMBasicKernel
    _need(activation == _ACT_TANH, f"Only TANH activation is supported. but node has {activation}")
    _need(_opt(sig, "CellClip") == 0.0, "cell_clip is not supported.")
    _need(_opt(sig, "ProjClip") == 0.0, "proj_clip is not supported.")


def _check_mean(sig: _Sig) -> None:
    _check_inputs_consts_outputs(sig, 1, 1, 1)
    _check_axes_int32_const(sig, 1)


def _check_reduce(sig: _Sig) -> None:
    _check_inputs_outputs(sig, 1, 1)
    _check_axes_int32_const(sig, 1)


def _check_slice(sig: _Sig) -> None:
    n = len(sig.inputs)
    _need(n >= 3, f"SLICE requires 3 inputs, but node has {n} inputs.")
    rank = len(sig.inputs[0].dims)
    _need(rank in (3, 4), f"SLICE supports for 3 or 4 dimensional tensors only, but node has {rank} dimensional tensors.")


def _check_softmax(sig: _Sig) -> None:
    _need(_opt(sig, "Beta") == 1, "Softmax.beta != 1 is not supported.")


def _check_strided_slice(sig: _Sig) -> None:
    _need(not _opt(sig, "EllipsisMask"), "Slice does not support ellipsis_mask.")
    _need(not _opt(sig, "NewAxisMask"), "Slice does not support new_axis_mask.")
    _need(not _opt(sig, "ShrinkAxisMask"), "Slice does not support shrink_axis_mask parameter. ")
    _need(len(sig.inputs) >= 4, "STRIDED_SLICE requires 4 inputs.")
    _need(len(sig.inputs[0].dims) in (3, 4), "STRIDED_SLICE supports for 3 or 4 dimensional tensors only.")


def _check_transpose_conv(sig: _Sig) -> None:
    _check_convolution_io(sig)
    _check_strides(_opt(sig, "StrideH"), _opt(sig, "StrideW"))


def _check_resize_bilinear(sig: _Sig) -> None:
    _check_inputs_outputs(sig, 1, 1)
    _need(
        not (_opt(sig, "AlignCorners") and _opt(sig, "HalfPixelCenters")),
        "If half_pixel_centers is True, align_corners must be False.",
    )


def _check_pad(sig: _Sig) -> None:
    if sig.op == "MIRROR_PAD":
        mode = _opt(sig, "Mode") + 1  # schema REFLECT=0 is TfLiteMirrorPaddingMode kTfLiteMirrorPaddingReflect=1
        _need(mode == 1, f"Only Reflective padding is supported for Mirror Pad operation. But node has {mode}")
    _check_inputs_outputs(sig, 1, 1)
    _check_available(sig, 1)
    pads = sig.inputs[1].dims
    _need(len(pads) == 2, f"Invalid paddings tensor dimension: expected 2 dim, got {len(pads)} dim")
    _need(pads[0] in (3, 4) and pads[1] == 2, f"Invalid paddings tensor shape: expected 4x2 or 3x2, got {pads[0]}x{pads[1]}")


def _check_unary(sig: _Sig) -> None:
    _check_inputs_consts_outputs(sig, 1, 0, 1)


def _check_binary(sig: _Sig) -> None:
    _need(
        _passes(lambda: _check_inputs_consts_outputs(sig, 2, 0, 1))
        or _passes(lambda: _check_inputs_consts_outputs(sig, 1, 1, 1)),
        "Op can only handle 1 or 2 operand(s).",
    )
    if sig.op in ("DIV", "SUB"):
        _check_activation(_opt(sig, "FusedActivationFunction"))


def _check_clamp(sig: _Sig) -> None:
    _need(len(sig.inputs) >= 3, f"Requested index goes beyond array size: 2 vs {len(sig.inputs)}")
    a, lo, hi = sig.inputs[:3]
    _need(a.type == lo.type and lo.type == hi.type, "Clamp tensors must all be the same type")
    _need(a.dims == lo.dims or _num_elements(a.dims) == 1, "Min tensor must be the same shape as the input, or a scalar")
    # The .cc compares the max tensor with the min tensor and tests the input's size: ported as written.
    _need(hi.dims == lo.dims or _num_elements(a.dims) == 1, "Max tensor must be the same shape as the input, or a scalar")
    _check_inputs_consts_outputs(sig, 3, 0, 1)


def _ok(sig: _Sig) -> None:
    return None


def _io(runtime: int, outputs: int) -> Callable[[_Sig], None]:
    return lambda sig: _check_inputs_outputs(sig, runtime, outputs)


_UNARY = ("ABS", "CEIL", "COS", "ELU", "EXP", "FLOOR", "GELU", "LOG", "LOGISTIC", "NEG", "RSQRT", "SIGN", "SIN",
          "SQRT", "SQUARE", "TANH")  # fmt: skip
_BINARY = ("ATAN2", "DIV", "EQUAL", "FLOOR_DIV", "FLOOR_MOD", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LESS",
           "LESS_EQUAL", "MAXIMUM", "MINIMUM", "NOT_EQUAL", "POW", "SQUARED_DIFFERENCE", "SUB")  # fmt: skip

# The switch of CheckGpuDelegateCompatibility: every builtin op it names, with its rule. Anything else is refused.
_RULES: dict[str, Callable[[_Sig], None]] = {
    "ADD": _check_add,
    "ADD_N": lambda sig: _need(len(sig.inputs) == 2, "ADD_N only supports 2 inputs."),
    "AVERAGE_POOL_2D": _check_pooling,
    "BATCH_MATMUL": _check_batch_matmul,
    "CAST": _check_cast,
    "CONCATENATION": _ok,
    "CONV_2D": _check_conv,
    "CUMSUM": _check_cumsum,
    "DENSIFY": _io(0, 1),
    "DEPTHWISE_CONV_2D": _check_depthwise,
    "DEPTH_TO_SPACE": _check_block_size,
    "DEQUANTIZE": _check_dequantize,
    "EMBEDDING_LOOKUP": _check_embedding_lookup,
    "DYNAMIC_UPDATE_SLICE": _check_dynamic_update_slice,
    "FULLY_CONNECTED": _check_fully_connected,
    "GATHER": _check_gather,
    "HARD_SWISH": _io(1, 1),
    "LSTM": _check_lstm,
    "MAX_POOL_2D": _check_pooling,
    "MEAN": _check_mean,
    "MUL": _check_mul,
    "PACK": _ok,
    "ONE_HOT": _check_one_hot,
    "QUANTIZE": _io(1, 1),
    "RELU_N1_TO_1": _ok,
    "PRELU": _ok,
    "RESHAPE": _io(1, 1),
    "SELECT": _check_select,
    "SELECT_V2": _check_select,
    "SLICE": _check_slice,
    "SOFTMAX": _check_softmax,
    "SPACE_TO_DEPTH": _check_block_size,
    "SPLIT": _ok,
    "SPLIT_V": _ok,
    "STRIDED_SLICE": _check_strided_slice,
    "TILE": _io(1, 1),
    "TRANSPOSE": _io(1, 1),
    "TRANSPOSE_CONV": _check_transpose_conv,
    "RESIZE_BILINEAR": _check_resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": _io(1, 1),
    "RELU": _ok,
    "RELU6": _ok,
    "LEAKY_RELU": _ok,
    "REDUCE_MAX": _check_reduce,
    "REDUCE_MIN": _check_reduce,
    "REDUCE_PROD": _check_reduce,
    "SUM": _check_reduce,
    "PAD": _check_pad,
    "PADV2": _check_pad,
    "MIRROR_PAD": _check_pad,
    "STABLEHLO_CLAMP": _check_clamp,
    **dict.fromkeys(_UNARY, _check_unary),
    **dict.fromkeys(_BINARY, _check_binary),
}

# The schema's options class each ruled op reads (BuiltinOptions union member name).
_OPTIONS = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions", "DEPTH_TO_SPACE": "DepthToSpaceOptions",
    "SPACE_TO_DEPTH": "SpaceToDepthOptions", "FULLY_CONNECTED": "FullyConnectedOptions", "LSTM": "LSTMOptions",
    "MUL": "MulOptions", "SUB": "SubOptions", "DIV": "DivOptions", "ONE_HOT": "OneHotOptions",
    "SOFTMAX": "SoftmaxOptions", "STRIDED_SLICE": "StridedSliceOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions", "MIRROR_PAD": "MirrorPadOptions",
}  # fmt: skip


def _check_node(sig: _Sig) -> str | None:
    """The .cc's verdict on one node: None when supported, else its status message."""
    rule = _check_custom if sig.custom else _RULES.get(sig.op)
    if rule is None:
        return f"Not supported op {sig.op}"
    try:
        rule(sig)
    except _Refused as refused:
        return str(refused)
    except IndexError:
        # The .cc would read past a vector here (undefined behaviour in C++): a malformed node is not supported.
        return f"{sig.op}: malformed node (too few inputs or outputs for its rule)"
    return None


# ---- reading the flatbuffer -----------------------------------------------------------------------------------------


class _Reader:
    """The flatbuffer read lazily through the generated accessors: only what the rules touch is decoded."""

    def __init__(self, blob: bytes) -> None:
        s = _schema()
        self.s = s
        self.model = s.Model.GetRootAs(blob, 0)
        self.op_names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
        self.type_names = {v: k for k, v in vars(s.TensorType).items() if not k.startswith("_")}
        self.option_classes = {v: k for k, v in vars(s.BuiltinOptions).items() if not k.startswith("_")}
        self._const_buffers: dict[int, bool] = {}

    def opcode(self, index: int) -> tuple[str, bool]:
        """(name, is_custom) of an operator code: the builtin name, or the custom op's own name."""
        code = self.model.OperatorCodes(index)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # schema_utils GetBuiltinCode
        name = self.op_names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            return (code.CustomCode() or b"").decode("utf-8", "replace"), True
        return name, False

    def buffer_has_data(self, index: int) -> bool:
        if index not in self._const_buffers:
            has = False
            if 0 < index < self.model.BuffersLength():
                buf = self.model.Buffers(index)
                # op_signature.cc tests data().size(); a model over 2 GB keeps its weights outside the flatbuffer
                # (offset/size), which the interpreter maps read-only all the same: constant too.
                has = buf.DataLength() > 0 or (buf.Offset() > 1 and buf.Size() > 0)
            self._const_buffers[index] = has
        return self._const_buffers[index]


@dataclass
class _Graph:
    """One subgraph's tensor specs, built once."""

    specs: list[_Spec]
    signatures: list[list[int] | None]


def _read_graph(r: _Reader, sg: Any) -> _Graph:
    specs: list[_Spec] = []
    signatures: list[list[int] | None] = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        shape = t.ShapeAsNumpy()
        dims = [int(d) for d in shape] if not isinstance(shape, int) else []
        sig = t.ShapeSignatureAsNumpy()
        signatures.append([int(d) for d in sig] if not isinstance(sig, int) else None)
        specs.append(
            _Spec(
                type=r.type_names.get(t.Type(), f"TYPE_{t.Type()}"),
                dims=dims,
                is_const=r.buffer_has_data(t.Buffer()),
                name=(t.Name() or b"").decode("utf-8", "replace"),
                index=i,
                is_variable=bool(t.IsVariable()),
            )
        )
    return _Graph(specs, signatures)


def _tensor_list(vec: Any) -> list[int]:
    return [int(i) for i in vec] if not isinstance(vec, int) else []


def _options(r: _Reader, op: Any, name: str) -> Any:
    cls_name = _OPTIONS.get(name)
    if cls_name is None:
        return None
    table = op.BuiltinOptions()
    if table is None or r.option_classes.get(op.BuiltinOptionsType()) != cls_name:
        return None  # no table: the rules read the zero-initialised params, as ParseOpData leaves them
    opts = getattr(r.s, cls_name)()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _custom_data(op: Any) -> bytes:
    data = op.CustomOptionsAsNumpy()
    return bytes(data.tobytes()) if not isinstance(data, int) else b""


# ---- the check ------------------------------------------------------------------------------------------------------


def _describe_offender_op(name: str, custom: bool) -> str:
    return f"CUSTOM:{name}" if custom else name


def check_gpu(blob: bytes) -> TargetReport:
    """Check every node of every subgraph of a .tflite against the LiteRT GPU delegate's rules (see the module doc).

    Never raises on a model it cannot read: the report then has ok=False and ``error`` set.
    """
    start = time.perf_counter()
    try:
        refused, dynamic, delegated, total = _check(blob)
    except Exception as exc:  # a truncated or hostile flatbuffer: the generated accessors raise anything
        return TargetReport(
            target=Target.GPU,
            ok=False,
            summary="GPU check could not read the model",
            error=f"cannot read the .tflite flatbuffer: {type(exc).__name__}: {exc}",
            seconds=time.perf_counter() - start,
        )
    offenders = refused + dynamic
    refused_ops = list(dict.fromkeys(o.op for o in refused))
    if not offenders:
        summary = f"all {total} nodes GPU-compatible"
    else:
        by_rules = total - len({(o.subgraph, o.node) for o in refused})
        parts = [f"{delegated} of {total} nodes GPU-compatible"]
        if refused_ops:
            parts.append("refused: " + ", ".join(refused_ops))
        if dynamic:
            # The ops may all pass the rules: say so, so "0 of 64" reads as a shape question, not an op question.
            parts.append(f"{len(dynamic)} dynamic-shape tensor{'s' if len(dynamic) != 1 else ''} "
                         f"({by_rules} of {total} nodes pass the op rules; static shapes are what is missing)")
        summary = "; ".join(parts)
    return TargetReport(
        target=Target.GPU,
        ok=not offenders,
        summary=summary,
        offenders=tuple(offenders),
        delegated=delegated,
        total=total,
        seconds=time.perf_counter() - start,
    )


def _check(blob: bytes) -> tuple[list[Offender], list[Offender], int, int]:
    """(refused nodes, dynamic tensors, nodes accepted, nodes in all subgraphs)."""
    if len(blob) < 8 or blob[4:8] != b"TFL3":
        raise ValueError("no TFL3 file identifier")
    r = _Reader(blob)
    refused: list[Offender] = []
    dynamic: list[Offender] = []
    delegated = total = 0
    fp16_dequantize = r.s.TensorType.FLOAT16
    for sg_index in range(r.model.SubgraphsLength()):
        sg = r.model.Subgraphs(sg_index)
        graph = _read_graph(r, sg)
        specs = graph.specs
        # FP16GraphPartitionHelper (delegates/utils.cc) folds a DEQUANTIZE of float16 weights into its consumers:
        # they see the float16 constant, so its output counts as constant for them.
        folded: set[int] = set()
        producers: dict[int, tuple[int, str]] = {}
        for n in range(sg.OperatorsLength()):
            op = sg.Operators(n)
            name, custom = r.opcode(op.OpcodeIndex())
            ins, outs = _tensor_list(op.InputsAsNumpy()), _tensor_list(op.OutputsAsNumpy())
            for t in outs:
                if 0 <= t < len(specs):
                    producers[t] = (n, _describe_offender_op(name, custom))
            if name == "DEQUANTIZE" and not custom and len(ins) == 1 and 0 <= ins[0] < len(specs):
                src = specs[ins[0]]
                if src.is_const and sg.Tensors(ins[0]).Type() == fp16_dequantize and outs:
                    folded.update(outs)

        dynamic_tensors = {i for i, s in enumerate(graph.signatures) if s is not None and -1 in s}
        inputs = set(_tensor_list(sg.InputsAsNumpy()))
        for t in sorted(dynamic_tensors):
            node, op_name = producers.get(t, (None, "INPUT" if t in inputs else "TENSOR"))
            dynamic.append(
                Offender(
                    op=op_name,
                    reason=f"{DYNAMIC_REASON} (shape_signature {graph.signatures[t]})",
                    node=node,
                    subgraph=sg_index,
                    name=specs[t].name,
                    dynamic=True,
                )
            )

        for n in range(sg.OperatorsLength()):
            total += 1
            op = sg.Operators(n)
            name, custom = r.opcode(op.OpcodeIndex())
            ins, outs = _tensor_list(op.InputsAsNumpy()), _tensor_list(op.OutputsAsNumpy())
            sig = _Sig(
                op=name,
                custom=custom,
                opts=None if custom else _options(r, op, name),
                inputs=[_input_spec(specs, t, folded) for t in ins],
                outputs=[_input_spec(specs, t, set()) for t in outs],
                custom_data=_custom_data(op) if custom else b"",
            )
            first_out = sig.outputs[0].name if sig.outputs else ""
            reason = _check_node(sig) or _type_reason(sig)
            if reason is not None:
                refused.append(Offender(_describe_offender_op(name, custom), reason, n, sg_index, first_out))
                continue
            touches_dynamic = any(t in dynamic_tensors for t in (*ins, *outs))
            if not touches_dynamic:
                delegated += 1
    return refused, dynamic, delegated, total


def _input_spec(specs: list[_Spec], t: int, folded: set[int]) -> _Spec:
    if t < 0 or t >= len(specs):
        return _Spec(type="NOTYPE")  # an absent optional input: no type, neither const nor a runtime input
    spec = specs[t]
    if t in folded and not spec.is_const:
        return _Spec(spec.type, spec.dims, True, spec.name, spec.index, spec.is_variable)
    return spec


def _type_reason(sig: _Sig) -> str | None:
    """model_builder.cc's IsAllAllowedTensors over the node's non-constant (arena) tensors."""
    for spec in (*sig.inputs, *sig.outputs):
        if spec.type == "NOTYPE" or spec.is_const or spec.is_variable:
            continue
        if spec.type not in _HELD_TYPES:
            return f"{TYPE_REASON} ({spec.type} tensor '{spec.name}': the GPU delegate computes in float32/float16)"
    return None


__all__ = ["DYNAMIC_REASON", "TYPE_REASON", "check_gpu"]
