"""substitute_target_ops: replace ops a deployment target lacks by exact equivalents it has, by graph surgery.

The table is the rewrite: one row per TF op and target, with the condition under which the equivalent is exact and
the equivalent itself, in plain TensorFlow that converts to TFLite builtins the target runs. It answers the target
findings (--target micro, --target gpu) and only those refusals a row can remove: ``claims`` reads each offender's
op and the target's reason.

Facts the rows rest on (measured here, TF 2.21, tflite-micro's Python interpreter):
- TFLM has no TILE, SIGN, REDUCE_PROD or TOPK_V2 kernel (its registrations: none of them); it has CONCATENATION (at
  most 10 inputs: concatenation.cc's kMaxInputNum), GREATER, LESS, SUB, SELECT_V2 (float32, int8, int16 only),
  MAXIMUM/MINIMUM (int32 too), MUL, STRIDED_SLICE, SQUEEZE, REDUCE_MAX and ARG_MAX; each replacement below ran in
  it with outputs equal to TensorFlow's.
- The GPU delegate refuses a STRIDED_SLICE with shrink_axis_mask, new_axis_mask or ellipsis_mask, and any strided
  slice whose input is not rank 3 or 4; it takes RESHAPE with a constant shape (one runtime input), SPLIT, SPLIT_V
  and PACK under no condition, and has no SQUEEZE, EXPAND_DIMS or UNPACK (tensorflow/lite/tools/versioning/
  gpu_compatibility.cc at commit 03a5e4e19a9c8200e13c85f1c637877fdf589be6). Measured: the converter keeps a SPLIT
  followed by RESHAPEs as such (it does not fold them back into UNPACK), on axis 0, 1 and -1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import captured_stderr, tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, Replacement, SurgeryFailed, rank_and_dims, substitute, take, tensor_specs
from repair.model.working import WorkingModel

_TFLM_MAX_CONCAT = 10  # tflite-micro concatenation.cc: kMaxInputNum (measured: 12 inputs fail to prepare)
_MAX_PROD_LENGTH = 64  # a product over a longer axis would be a long chain of MULs: refused, not rewritten


@dataclass(frozen=True)
class Substitution:
    target: str  # the target whose refusal the row removes ("micro", "gpu")
    tflite_op: str  # the builtin the target refuses, as its check names it
    op: str  # the TF op that converts to it
    equivalent: str  # one line for the report and `repair rewrites`
    # A Replacement; or why this node cannot be replaced; or None: this node is a form the target takes, leave it.
    plan: Callable[[FrozenGraph, Any], Replacement | str | None]
    # Whether the target's reason for refusing an offender of this op is one the row removes.
    removes: Callable[[str], bool]



def _ints(frozen: FrozenGraph, ref: str) -> list[int] | None:
    """An integer tensor's value when constants and static shapes fix it, else None.

    ``tf.repeat`` packs a Tile's multiples from constants and a reshaped cast of the repeat count; shape math reads
    Shape of tensors whose shape is static. The subgraph is run once, in a session over the frozen graph, with each
    such Shape/Size/Rank fed its static value; a Placeholder (a serving input) or a stateful op among the ancestors
    means the value is not fixed."""
    value = frozen.const(ref)
    if value is not None:
        return [int(v) for v in value.reshape(-1).tolist()]
    nodes = {n.name: n for n in frozen.graph_def.node}
    shapes: dict[str, Any] = {}  # tensor name -> the static value fed for it
    stack, seen = [ref.split(":")[0].lstrip("^")], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = nodes.get(name)
        if node is None or node.op == "Placeholder" or node.op.startswith(("Stateful", "Random", "ReadVariable")):
            return None
        data = [i for i in node.input if not i.startswith("^")]
        if node.op in ("Shape", "Size", "Rank"):
            rank, dims = rank_and_dims(frozen, data[0])
            if rank is None or None in dims:
                return None
            known = [int(d) for d in dims]  # type: ignore[arg-type]  # no None: checked
            shapes[f"{name}:0"] = known if node.op == "Shape" else int(np.prod(known)) if node.op == "Size" else rank
            continue
        stack.extend(i.split(":")[0] for i in data)
    t = tf()
    graph = t.Graph()
    try:
        with graph.as_default(), captured_stderr():
            t.graph_util.import_graph_def(frozen.graph_def, name="")
            with t.compat.v1.Session(graph=graph) as session:
                result = session.run(ref if ":" in ref else f"{ref}:0", feed_dict=shapes)
    except Exception:  # an op that cannot run without its inputs: not a static value
        return None
    return [int(v) for v in np.asarray(result).reshape(-1).tolist()]



def _concat(pieces: list[Any], axis: int) -> Any:
    """Concatenate in groups of at most TFLM's input limit (a concat of concats keeps the order)."""
    t = tf()
    while len(pieces) > _TFLM_MAX_CONCAT:
        pieces = [t.concat(pieces[i:i + _TFLM_MAX_CONCAT], axis=axis) if len(pieces[i:i + _TFLM_MAX_CONCAT]) > 1
                  else pieces[i] for i in range(0, len(pieces), _TFLM_MAX_CONCAT)]
    return t.concat(pieces, axis=axis) if len(pieces) > 1 else pieces[0]


# ---------------------------------------------------------------------------------------------------- micro rows


def _tile(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """``tf.tile``/``keras.ops.tile``/``tf.repeat`` with constant multiples: copies concatenated along each axis."""
    multiples = _ints(frozen, node.input[1])
    if multiples is None:
        return "Tile whose multiples are not fixed by constants and static shapes (TFLM cannot resize at run time)"
    if any(m < 1 for m in multiples):
        return "Tile with a zero multiple (an empty output)"

    def build(x: Any) -> Any:
        y = x
        for axis, m in enumerate(multiples):
            if m > 1:
                y = _concat([y] * m, axis)
        return y if y is not x else tf().identity(x)

    return Replacement((node.input[0],), build)


def _sign(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """Sign by comparisons. Floats: 1 where x > 0, -1 where x < 0, else ``x - x``, which is +0 for both zeros (as
    TF's Sign gives) and NaN for NaN, so NaN and signed zeros come out as TensorFlow's do, bit for bit. Integers:
    clip to [-1, 1] (TFLM's SELECT_V2 has no int32 kernel; MAXIMUM/MINIMUM do)."""
    dtype = tf().dtypes.as_dtype(node.attr["T"].type)
    if not (dtype.is_floating or dtype.is_integer):
        return f"Sign on {dtype.name} (only real numbers are replaced)"

    def build(x: Any) -> Any:
        t = tf()
        one, minus_one = t.constant(1, dtype), t.constant(-1, dtype)
        if dtype.is_integer:
            return t.minimum(t.maximum(x, minus_one), one)
        return t.where(x > 0, one, t.where(x < 0, minus_one, x - x))

    return Replacement((node.input[0],), build)


def _prod(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """``reduce_prod`` over constant axes of static, small lengths: MULs of the slices along each axis."""
    axes = _ints(frozen, node.input[1])
    if axes is None:
        return "Prod over axes that are not constants"
    rank, dims = rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Prod over a tensor of unknown rank"
    axes = sorted({a % rank for a in axes}) if rank else []
    for a in axes:
        n = dims[a]
        if n is None:
            return f"Prod along axis {a} whose length is unknown; pin it with --pin"
        if not 0 < n <= _MAX_PROD_LENGTH:
            return f"Prod along axis {a} of length {n} (only lengths 1..{_MAX_PROD_LENGTH} are replaced)"
    keep = node.attr["keep_dims"].b

    def build(x: Any) -> Any:
        t = tf()
        y = x
        for a in axes:
            n = int(dims[a])  # type: ignore[arg-type]  # checked above: every reduced axis has a static length
            acc = take(y, a, 0, 1)
            for i in range(1, n):
                acc = acc * take(y, a, i, i + 1)
            y = acc
        if not axes:
            return t.identity(x)
        return y if keep else t.squeeze(y, axis=axes)

    return Replacement((node.input[0],), build)


def _top_k(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """``tf.math.top_k(x, k=1)``: REDUCE_MAX for the value, ARG_MAX for the index. TopK puts the lower index first
    among equal values; TFLite's and TFLM's ARG_MAX keep the first maximum they meet (a strict comparison), so ties
    resolve the same way. NaN inputs are not covered (TopK's order of NaN is not the maximum's)."""
    k = _ints(frozen, node.input[1])
    if k != [1]:
        return "TopKV2 with k other than a constant 1 (only the arg-max form is replaced)"
    index_type = tf().dtypes.as_dtype(node.attr["index_type"].type) if "index_type" in node.attr else tf().int32

    def build(x: Any) -> list[Any]:
        t = tf()
        values = t.reduce_max(x, axis=-1, keepdims=True)
        out_type = t.int64 if index_type == t.int64 else t.int32
        indices = t.expand_dims(t.argmax(x, axis=-1, output_type=out_type), -1)
        return [values, indices if indices.dtype == index_type else t.cast(indices, index_type)]

    return Replacement((node.input[0],), build)


# ------------------------------------------------------------------------------------------------------ gpu rows


def _bits(node: Any, name: str) -> int:
    return int(node.attr[name].i)


def _dense_index(node: Any, rank: int, begin: list[int], end: list[int], strides: list[int]) -> list[slice] | str:
    """The StridedSlice's index as one slice per input axis: the ellipsis expanded, new axes dropped (the reshape
    after the slice puts them back), and each shrunk index i kept as the one-element slice i:i+1."""
    begin_mask, end_mask = _bits(node, "begin_mask"), _bits(node, "end_mask")
    ellipsis, new_axis, shrink = (_bits(node, m) for m in ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask"))
    items: list[slice | None] = []  # None marks the ellipsis
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis & bit:
            if None in items:
                return "StridedSlice with two ellipses"
            items.append(None)
        elif new_axis & bit:
            continue
        elif shrink & bit:
            start = int(begin[i])
            items.append(slice(start, start + 1 if start != -1 else None))
        else:
            items.append(slice(None if begin_mask & bit else int(begin[i]), None if end_mask & bit else int(end[i]),
                               int(strides[i])))
    explicit = [item for item in items if item is not None]
    if len(explicit) > rank:
        return "StridedSlice whose index does not fit its input's rank"
    fill = [slice(None)] * (rank - len(explicit))
    if None in items:
        at = items.index(None)
        return explicit[:at] + fill + explicit[at:]
    return explicit + fill


def _gpu_strided_slice(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    """``x[:, 0]`` (the CLS token, an RNN's last step), ``x[..., 0]``, ``x[:, None]``: the same slice keeping every
    axis (so no mask the GPU refuses), on a rank-3 view when the input has rank 1 or 2, then one RESHAPE with a
    constant shape to the original output shape."""
    if not (_bits(node, "shrink_axis_mask") or _bits(node, "new_axis_mask") or _bits(node, "ellipsis_mask")):
        return None  # no mask the GPU refuses; a rank outside 3..4 is not this row's
    rank, dims = rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "StridedSlice on a tensor of unknown rank"
    if rank > 4:
        return f"StridedSlice on a rank-{rank} tensor (the GPU delegate slices rank 3 and 4 only)"
    begin, end, strides = (_ints(frozen, ref) for ref in node.input[1:4])
    if begin is None or end is None or strides is None:
        return "StridedSlice with bounds that are not constants"
    index = _dense_index(node, rank, begin, end, strides)
    if isinstance(index, str):
        return index
    out_dims = tensor_specs(frozen, [node.name])[0].shape
    if out_dims.rank is None or out_dims.as_list().count(None) > 1 or dims.count(None) > 1:
        return "StridedSlice with more than one unknown dim (the GPU needs static shapes: pin them with --pin)"
    out_shape = [-1 if d is None else int(d) for d in out_dims.as_list()]
    lift = max(0, 3 - rank)  # leading 1-dims make a rank-1/2 input rank 3, which the GPU slices
    lifted = [1] * lift + [-1 if d is None else int(d) for d in dims]
    whole = all(s == slice(None) for s in index)

    def build(x: Any) -> Any:
        t = tf()
        y = x
        if not whole:
            y = t.reshape(y, lifted) if lift else y
            y = y[tuple([slice(None)] * lift + index)]
        return t.reshape(y, out_shape)

    return Replacement((node.input[0],), build)


def _gpu_outer_mul(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    """``a * b`` where each operand is smaller than the other in some dim ([1, 8, 1] * [1, 1, 16]: Keras 3's
    LayerNormalization scales rsqrt(variance) by gamma this way): the GPU delegate refuses such a MUL. Tiling one
    operand to the output shape first multiplies the same pairs (bit for bit); a constant operand is the one tiled,
    so the converter folds the tile into a larger constant and no op is added."""
    (rank_a, dims_a), (rank_b, dims_b) = (rank_and_dims(frozen, ref) for ref in node.input[:2])
    if rank_a is None or rank_a != rank_b or None in dims_a or None in dims_b:
        return None  # a rank mismatch is the GPU's broadcast rule, not this one; unknown dims: not this form
    a_smaller = any(int(x) < int(y) for x, y in zip(dims_a, dims_b))  # type: ignore[arg-type]  # no None: checked
    b_smaller = any(int(y) < int(x) for x, y in zip(dims_a, dims_b))  # type: ignore[arg-type]
    if not (a_smaller and b_smaller):
        return None
    sizes_a, sizes_b = [int(d) for d in dims_a], [int(d) for d in dims_b]  # type: ignore[arg-type]  # no None
    copies_a = int(np.prod([max(y // x, 1) for x, y in zip(sizes_a, sizes_b)]))
    copies_b = int(np.prod([max(x // y, 1) for x, y in zip(sizes_a, sizes_b)]))
    folded = [_is_folded(frozen, ref) for ref in node.input[:2]]
    # Expand a constant operand when there is one (its copies fold into a larger constant: no op added), else the
    # operand that needs fewer copies.
    expand_b = folded[1] if folded[0] != folded[1] else copies_b < copies_a

    def build(a: Any, b: Any) -> Any:
        small, big = (b, sizes_a) if expand_b else (a, sizes_b)
        own = sizes_b if expand_b else sizes_a
        for axis, (mine, other) in enumerate(zip(own, big)):
            if mine < other:
                small = _concat([small] * (other // mine), axis)
        return a * small if expand_b else small * b

    return Replacement((node.input[0], node.input[1]), build)


def _gpu_unpack(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """``tf.unstack`` (Keras RNNs unstack the time-major input, unroll_static_loops turns TensorList reads into
    Unpack): SPLIT along the same axis into ``num`` pieces, each RESHAPEd (constant shape) to the unpacked shape.
    The GPU delegate has no UNPACK but takes SPLIT and RESHAPE; the pieces are the same elements (pure data
    movement). One piece: a RESHAPE alone."""
    rank, dims = rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Unpack of a tensor of unknown rank"
    axis = _bits(node, "axis") % rank if rank else 0
    num = _bits(node, "num")
    if num < 1:
        return "Unpack into no pieces"
    if dims[axis] != num:
        return f"Unpack along axis {axis} whose length is not static (the GPU needs static shapes: pin them with --pin)"
    piece = [-1 if d is None else int(d) for i, d in enumerate(dims) if i != axis]
    if piece.count(-1) > 1:
        return "Unpack with more than one unknown dim (the GPU needs static shapes: pin them with --pin)"

    def build(x: Any) -> list[Any]:
        t = tf()
        pieces = t.split(x, num, axis=axis) if num > 1 else [x]
        return [t.reshape(p, piece) for p in pieces]

    return Replacement((node.input[0],), build)


def _is_folded(frozen: FrozenGraph, ref: str, depth: int = 0) -> bool:
    """Whether a tensor is computed from constants only (a frozen variable reshaped: the converter folds it)."""
    node = frozen.node(ref.split(":")[0].lstrip("^"))
    if node is None or node.op == "Placeholder" or depth > 16:
        return False
    if node.op == "Const":
        return True
    data = [i for i in node.input if not i.startswith("^")]
    return bool(data) and all(_is_folded(frozen, i, depth + 1) for i in data)


def _missing_kernel(reason: str) -> bool:
    """A TFLM refusal for want of a kernel (check_micro's wording), not for a dynamic tensor or the arena."""
    return "no TFLM kernel" in reason


def _gpu_slice_mask(reason: str) -> bool:
    return any(mask in reason for mask in ("shrink_axis_mask", "new_axis_mask", "ellipsis_mask"))


TABLE: tuple[Substitution, ...] = (
    Substitution("micro", "TILE", "Tile", "CONCATENATION of copies along each tiled axis (constant multiples)",
                 _tile, _missing_kernel),
    Substitution("micro", "SIGN", "Sign", "GREATER/LESS/SELECT_V2 (floats, NaN and -0 as TF) or MAXIMUM/MINIMUM "
                 "(integers)", _sign, _missing_kernel),
    Substitution("micro", "REDUCE_PROD", "Prod", "MULs of the slices along each reduced axis (constant axes of "
                 f"static length up to {_MAX_PROD_LENGTH})", _prod, _missing_kernel),
    Substitution("micro", "TOPK_V2", "TopKV2", "REDUCE_MAX and ARG_MAX (k = 1; ties: the first index, as TopK)",
                 _top_k, _missing_kernel),
    Substitution("gpu", "STRIDED_SLICE", "StridedSlice", "the slice keeping its axes, then RESHAPE to the shrunk "
                 "shape (shrink_axis_mask, new_axis_mask, ellipsis_mask)", _gpu_strided_slice, _gpu_slice_mask),
    Substitution("gpu", "UNPACK", "Unpack", "SPLIT along the axis, then RESHAPE of each piece to the unpacked shape",
                 _gpu_unpack, lambda reason: reason.startswith("Not supported op")),
    Substitution("gpu", "MUL", "Mul", "one operand tiled to the output shape first (a constant one: folded), when "
                 "each operand is smaller than the other in some dim", _gpu_outer_mul,
                 lambda reason: "not less than second in all dimensions" in reason),
)
_KINDS = {FindingKind.MICRO_INCOMPATIBLE: "micro", FindingKind.GPU_INCOMPATIBLE: "gpu"}


def _offenders(finding: Finding) -> list[dict[str, Any]]:
    raw = finding.data.get("offenders")
    return [o for o in raw if isinstance(o, dict)] if isinstance(raw, list) else []


def _row(target: str, offender: dict[str, Any]) -> Substitution | None:
    """The row that removes this offender's refusal, or None."""
    op, reason = str(offender.get("op", "")), str(offender.get("reason", ""))
    return next((s for s in TABLE if s.target == target and s.tflite_op == op and s.removes(reason)), None)


class SubstituteTargetOps(Rewrite):
    """Replace ops a deployment target refuses by exact equivalents it runs, in the SavedModel's graph.

    What it fixes:
        --target micro: TILE (tf.tile, keras.ops.tile, tf.repeat; multiples fixed by constants and static
        shapes), SIGN, REDUCE_PROD over constant axes of static length, and TOPK_V2 with k = 1, none of which
        TensorFlow Lite for Microcontrollers has a kernel for ("Didn't find op for builtin opcode 'TILE'").
        --target gpu: STRIDED_SLICE with shrink_axis_mask (x[:, 0], the CLS token of a transformer, an RNN's
        last step), new_axis_mask or ellipsis_mask ("Slice does not support shrink_axis_mask parameter."),
        also on rank-1/2 inputs; and a MUL where each operand is smaller than the other in some dim (Keras 3
        LayerNormalization: rsqrt(variance) [1, T, 1] times gamma [1, 1, C]; "MUL requires one tensor that not
        less than second in all dimensions."); and UNPACK (tf.unstack; a Keras LSTM/GRU once unroll_static_loops
        has unrolled its loop: "Not supported op UNPACK"), replaced by SPLIT + RESHAPE. The GPU delegate refuses
        them, so they and what follows run on the CPU.
    Why it fails:
        The model converts to builtins, but the target has no kernel for the op (TFLM's op set is small and
        fixed per build), or takes the op only under some attributes (the GPU's STRIDED_SLICE: no masks, rank
        3 or 4). Each of these ops has an equivalent formulation in ops the target does run.
    Safety:
        verified. Each row but one is exact under its condition: the copies a tile makes, comparisons for a sign (NaN and
        -0 come out as TF's Sign gives them), the slice plus a reshape for a shrunk axis, max and arg-max for a
        top-1 (ties go to the first index in both), copies of one operand before a MUL, the reshaped pieces of a
        SPLIT for an UNPACK. The exception: a
        product over an axis is the same multiplications, possibly in another order (float rounding in the last bit; measured
        4.8e-7 on a 12-element product). A node whose condition fails is refused with the reason; the
        gate still checks parity and re-runs the target's check on the output. Variables are frozen into
        constants; the serving contract is unchanged.
    References:
        tensorflow/lite/tools/versioning/gpu_compatibility.cc (STRIDED_SLICE, MUL, RESHAPE, SPLIT rules);
        tflite-micro's kernel registrations and concatenation.cc (at most 10 inputs);
        https://github.com/tensorflow/tflite-micro/issues/3236 and /issues/2231 (no TILE in TFLM, tf.repeat),
        https://github.com/tensorflow/tensorflow/issues/56081 (the GPU refusing x[0, 0]),
        https://github.com/tensorflow/tensorflow/issues/56482 (a Keras LSTM's UNPACK left off the GPU).
        Measured here: every micro replacement ran in TFLM with outputs equal to TF's (max abs diff 0, NaN and
        -0 included for Sign); the GPU replacements pass the GPU rules and match TF (max abs diff 0); the
        converter removes a Tile feeding a broadcasting MUL (measured), which is why the MUL row
        concatenates copies instead.
    """

    id = "substitute_target_ops"
    title = "replace ops a deployment target lacks by exact equivalents"
    answers = frozenset(_KINDS)
    safety = Safety.VERIFIED  # the REDUCE_PROD row may round differently in the last bit; the gate proves it
    cases = ("targets/micro_tile_sign", "targets/gpu_cls_token", "targets/gpu_lstm")
    tried_in_diagnose = True  # its conditions are only known on the frozen graph

    def claims(self, finding: Finding) -> bool:
        target = _KINDS.get(finding.kind)
        offenders = _offenders(finding)
        return target is not None and bool(offenders) and all(_row(target, o) is not None for o in offenders)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        target = _KINDS.get(finding.kind)
        if target is None:
            return f"not a target this rewrite knows ({finding.kind.value})"
        offenders = _offenders(finding)
        if not offenders:
            return f"the {target} check named no refused node"
        left = sorted({f"{o.get('op')}: {o.get('reason')}" for o in offenders if _row(target, o) is None})
        if left:
            return f"no {target} equivalent known for {'; '.join(left)}"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        target = _KINDS.get(finding.kind, "")
        wanted = {_row(target, o) for o in _offenders(finding)} - {None}
        rows = {s.op: s for s in TABLE if s in wanted}
        if not rows:
            raise RewriteFailed(f"{self.id}: none of the refused nodes is one this rewrite replaces")
        try:
            done = substitute(model, scratch, {op: row.plan for op, row in rows.items()}, who=self.id)
        except SurgeryFailed as exc:
            raise RewriteFailed(str(exc)) from exc
        return Applied(done.model, f"replaced {done.counts()} by equivalents the {target} target runs (variables frozen "
                       "into constants)", op_delta=done.op_delta)


