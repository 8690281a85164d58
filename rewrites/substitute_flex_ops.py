"""substitute_flex_ops: replace Flex and custom ops by builtin equivalents, by graph surgery.

The table is the rewrite: one row per TF op, with the condition under which the equivalent is exact
and the equivalent itself, in plain TensorFlow that converts to TFLite builtins. A row may refuse an
op for good (antialias resize has no equivalent: dropping antialias changes outputs by 0.25).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, Replacement, SurgeryFailed, rank_and_dims, substitute, take
from repair.model.working import WorkingModel


@dataclass(frozen=True)
class Substitution:
    op: str
    equivalent: str  # one line for the report and `repair rewrites`
    # A Replacement; or why this node cannot be replaced; or None: this node is a builtin form, leave it.
    plan: Callable[[FrozenGraph, Any], Replacement | str | None]


def _scalar(frozen: FrozenGraph, ref: str) -> int | None:
    value = frozen.const(ref)
    return int(value) if value is not None and value.ndim == 0 else None




# Ops whose value the static evaluator computes from static shapes and constants (NumPy semantics match TF's
# for these on integers); what tf.signal.fftshift builds its shift and axes from.
_STATIC_BINARY = {"AddV2": np.add, "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "FloorDiv": np.floor_divide,
                  "FloorMod": np.mod, "Less": np.less, "Greater": np.greater, "Maximum": np.maximum,
                  "Minimum": np.minimum}


def _static_value(frozen: FrozenGraph, ref: str, depth: int = 0) -> Any | None:
    """The value of an integer tensor computed only from constants and static shapes, or None.

    ``tf.signal.fftshift`` computes its Roll's shift as ``gather(shape(x), axes) // 2``: constant once
    the rolled axes have static lengths, though not a Const node. Unknown dims are carried as None in
    object arrays, so any arithmetic that touches one fails and the value is not static.
    """
    node = frozen.node(ref.split(":")[0].lstrip("^"))
    if node is None or depth > 32:
        return None
    try:
        if node.op == "Const":
            return frozen.const(node.name)
        inputs = [i for i in node.input if not i.startswith("^")]
        if node.op in ("Shape", "Rank", "Size"):
            rank, dims = rank_and_dims(frozen, inputs[0])
            if rank is None:
                return None
            if node.op == "Rank":
                return np.array(rank)
            if node.op == "Size":
                known = [d for d in dims if d is not None]
                return np.array(int(np.prod(known))) if len(known) == len(dims) else None
            return np.array(dims, dtype=object)
        maybe = [_static_value(frozen, i, depth + 1) for i in inputs]
        args = [a for a in maybe if a is not None]
        if len(args) != len(maybe):
            return None
        if node.op in ("Identity", "Cast"):
            return args[0]
        if node.op == "Neg":
            return -args[0]
        if node.op in _STATIC_BINARY:
            return _STATIC_BINARY[node.op](args[0], args[1])
        if node.op in ("Select", "SelectV2"):
            return np.where(args[0].astype(bool), args[1], args[2])
        if node.op == "GatherV2":
            return np.take(args[0], args[1].astype(int), axis=int(args[2]))
        if node.op == "Pack":
            return np.stack(args, axis=int(node.attr["axis"].i))
        if node.op == "StridedSlice":
            return args[0][tuple(_sparse_index(node, args[1], args[2], args[3]))]
    except (TypeError, ValueError, IndexError):  # an unknown dim (None) met arithmetic: not static
        return None
    return None


def _static_ints(frozen: FrozenGraph, ref: str) -> list[int] | None:
    value = _static_value(frozen, ref)
    if value is None:
        return None
    try:
        return [int(v) for v in np.atleast_1d(np.asarray(value)).tolist()]
    except (TypeError, ValueError):
        return None


def _roll(frozen: FrozenGraph, node: Any) -> Replacement | str:
    shifts, axes = _static_ints(frozen, node.input[1]), _static_ints(frozen, node.input[2])
    if shifts is None or axes is None:
        return ("Roll whose shift or axis is not fixed by constants and static shapes (a shift read from the data, or "
                "fftshift over an unknown dim: pin that dim with --pin)")
    if len(shifts) != len(axes):
        shifts, axes = np.broadcast_to(shifts, max(len(shifts), len(axes))).tolist(), np.broadcast_to(
            axes, max(len(shifts), len(axes))).tolist()
    rank, dims = rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Roll on a tensor of unknown rank"
    steps = []  # (axis, length, shift): rolls along several axes compose one after the other
    for shift, axis in zip(shifts, axes):
        axis %= rank
        n = dims[axis]
        if n is None:
            return f"Roll along axis {axis} whose length is unknown; pin it with --pin"
        if shift % n:
            steps.append((axis, n, shift % n))

    def build(x: Any) -> Any:
        for axis, n, s in steps:
            x = tf().concat([take(x, axis, n - s, None), take(x, axis, 0, n - s)], axis=axis)
        return x if steps else tf().identity(x)

    return Replacement((node.input[0],), build)


def _cumprod(frozen: FrozenGraph, node: Any) -> Replacement | str:
    axis = _scalar(frozen, node.input[1])
    if axis is None:
        return "Cumprod with a tensor axis"
    rank, dims = rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Cumprod on a tensor of unknown rank"
    axis %= rank
    n = dims[axis]
    if n is None:
        return f"Cumprod along axis {axis} whose length is unknown; pin it with --pin"
    exclusive, reverse = node.attr["exclusive"].b, node.attr["reverse"].b

    def build(x: Any) -> Any:
        t = tf()
        items = [take(x, axis, i, i + 1) for i in range(n)]
        if reverse:
            items = items[::-1]
        out, acc = [], None
        for item in items:
            if exclusive:
                out.append(t.ones_like(item) if acc is None else acc)
                acc = item if acc is None else acc * item
            else:
                acc = item if acc is None else acc * item
                out.append(acc)
        if reverse:
            out = out[::-1]
        return t.concat(out, axis=axis)

    return Replacement((node.input[0],), build)


def _cross(frozen: FrozenGraph, node: Any) -> Replacement | str:
    _, dims = rank_and_dims(frozen, node.input[0])
    if not dims or dims[-1] != 3:
        return "Cross needs a static last dimension of 3"

    def build(a: Any, b: Any) -> Any:
        t = tf()
        a0, a1, a2 = (a[..., i] for i in range(3))
        b0, b1, b2 = (b[..., i] for i in range(3))
        return t.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)

    return Replacement((node.input[0], node.input[1]), build)


def _print(frozen: FrozenGraph, node: Any) -> Replacement | str:
    return Replacement((), None)  # PrintV2 only has control outputs: removing it changes no number


def _clamped_size(frozen: FrozenGraph, ref: str) -> int | None:
    """A constant, or tf.math.bincount's Minimum(maxlength, Maximum(minlength, ...)) with equal bounds."""
    value = _scalar(frozen, ref)
    if value is not None:
        return value
    nodes = {n.name: n for n in frozen.graph_def.node}
    node = nodes.get(ref.split(":")[0])
    if node is None or node.op != "Minimum":
        return None
    for high, other in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        inner = nodes.get(other.split(":")[0])
        upper = _scalar(frozen, high)
        if upper is None or inner is None or inner.op != "Maximum":
            continue
        lower = [_scalar(frozen, r) for r in inner.input]
        if upper in lower:
            return upper
    return None


def _bincount(frozen: FrozenGraph, node: Any) -> Replacement | str:
    size = _clamped_size(frozen, node.input[1])
    if size is None:
        return "DenseBincount whose size depends on the input (give minlength == maxlength)"
    weights = frozen.const(node.input[2])
    if weights is None or weights.size != 0:
        return "DenseBincount with weights (only counting is replaced)"
    binary = node.attr["binary_output"].b
    out_dtype = tf().dtypes.as_dtype(node.attr["T"].type)

    def build(ids: Any) -> Any:
        t = tf()
        counts = t.reduce_sum(t.one_hot(ids, size, dtype=t.float32), axis=-2)
        if binary:
            counts = t.minimum(counts, 1.0)
        return t.cast(counts, out_dtype)

    return Replacement((node.input[0],), build)


def _matrix_dims(frozen: FrozenGraph, ref: str) -> int | str:
    _, dims = rank_and_dims(frozen, ref)
    if len(dims) < 2 or dims[-1] != dims[-2] or dims[-1] not in (2, 3):
        return "only static 2x2 and 3x3 matrices are replaced"
    return int(dims[-1])


def _det(m: Any, n: int) -> Any:
    e = lambda i, j: m[..., i, j]  # noqa: E731
    if n == 2:
        return e(0, 0) * e(1, 1) - e(0, 1) * e(1, 0)
    return (e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1))
            - e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0))
            + e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0)))


def _determinant(frozen: FrozenGraph, node: Any) -> Replacement | str:
    n = _matrix_dims(frozen, node.input[0])
    if isinstance(n, str):
        return n
    return Replacement((node.input[0],), lambda m: _det(m, n))


def _inverse(frozen: FrozenGraph, node: Any) -> Replacement | str:
    n = _matrix_dims(frozen, node.input[0])
    if isinstance(n, str):
        return n
    if node.attr["adjoint"].b:
        return "MatrixInverse with adjoint=True"

    def build(m: Any) -> Any:
        t = tf()
        e = lambda i, j: m[..., i, j]  # noqa: E731
        if n == 2:
            adj = [[e(1, 1), -e(0, 1)], [-e(1, 0), e(0, 0)]]
        else:
            def cof(i: int, j: int) -> Any:
                rows = [r for r in range(3) if r != i]
                cols = [c for c in range(3) if c != j]
                minor = e(rows[0], cols[0]) * e(rows[1], cols[1]) - e(rows[0], cols[1]) * e(rows[1], cols[0])
                return minor if (i + j) % 2 == 0 else -minor
            adj = [[cof(j, i) for j in range(3)] for i in range(3)]  # adjugate = transposed cofactors
        stacked = t.stack([t.stack(row, axis=-1) for row in adj], axis=-2)
        return stacked / _det(m, n)[..., None, None]

    return Replacement((node.input[0],), build)


def _area_matrix(size_in: int, size_out: int, align_corners: bool) -> Any:
    """The [size_out, size_in] weights of TensorFlow's ResizeArea along one axis, read off the op itself.

    ResizeArea is linear and separable: each output pixel is an overlap-weighted mean of input pixels,
    row weights times column weights. Running the real op on an identity "image" (batch = input
    position, one column) gives exactly the weights TensorFlow uses, boundary clamping included.
    """
    t = tf()
    eye = t.reshape(t.eye(size_in, dtype=t.float32), [size_in, size_in, 1, 1])
    out = t.raw_ops.ResizeArea(images=eye, size=[size_out, 1], align_corners=align_corners)
    return t.transpose(t.reshape(out, [size_in, size_out])).numpy()


def _resize_area(frozen: FrozenGraph, node: Any) -> Replacement | str:
    size = frozen.const(node.input[1])
    _, dims = rank_and_dims(frozen, node.input[0])
    if size is None or len(dims) != 4 or dims[1] is None or dims[2] is None:
        return "ResizeArea needs a static input height/width and a constant size"
    h, w = int(size[0]), int(size[1])
    align = node.attr["align_corners"].b
    if not align and dims[1] % h == 0 and dims[2] % w == 0:
        # An integer downscale is average pooling: one AVERAGE_POOL_2D instead of two matrix products.
        fh, fw = dims[1] // h, dims[2] // w

        def pool(image: Any) -> Any:
            t = tf()
            return t.nn.avg_pool2d(t.cast(image, t.float32), ksize=(fh, fw), strides=(fh, fw), padding="VALID")

        return Replacement((node.input[0],), pool)
    rows, cols = _area_matrix(dims[1], h, align), _area_matrix(dims[2], w, align)

    def build(image: Any) -> Any:
        t = tf()
        # Matmuls over the last axis of [B,C,W,H] then [B,C,h,W] (FULLY_CONNECTED against constants). An einsum
        # here converts, but with a dynamic batch the interpreter rejects the model ("BytesRequired number of
        # elements overflowed"; measured in TF 2.21).
        x = t.transpose(t.cast(image, t.float32), [0, 3, 2, 1])
        x = t.matmul(x, t.constant(rows.T))
        x = t.matmul(t.transpose(x, [0, 1, 3, 2]), t.constant(cols.T))
        return t.transpose(x, [0, 2, 3, 1])

    return Replacement((node.input[0],), build)


def _mask_bits(node: Any, name: str) -> int:
    return int(node.attr[name].i)


def _sparse_index(node: Any, begin: Any, end: Any, strides: Any) -> list[Any]:
    """A StridedSlice's index as the Python the user wrote: Ellipsis, None (new axis), int (shrink) or slice."""
    begin_mask, end_mask = _mask_bits(node, "begin_mask"), _mask_bits(node, "end_mask")
    ellipsis, new_axis = _mask_bits(node, "ellipsis_mask"), _mask_bits(node, "new_axis_mask")
    shrink = _mask_bits(node, "shrink_axis_mask")
    sparse: list[Any] = []
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis & bit:
            sparse.append(Ellipsis)
        elif new_axis & bit:
            sparse.append(None)
        elif shrink & bit:
            sparse.append(int(begin[i]))
        else:
            sparse.append(slice(None if begin_mask & bit else int(begin[i]), None if end_mask & bit else int(end[i]),
                                int(strides[i])))
    return sparse


def _strided_slice(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    """``x[..., None]`` and friends: slice without the new axes, then ExpandDims at their output positions.

    Measured in TF 2.21: a StridedSlice with new_axis_mask on unknown dims can stay a Flex StridedSlice
    (``x[..., tf.newaxis]`` and ``x[:, :, None]`` on [?, ?], ``mask[None, :, :]`` on a [T, T] causal mask,
    ``x[None, ...]`` on [?, ?, ?]; ``x[:, None]`` on [?, ?] happens to convert). ``tf.expand_dims`` and
    slices without new axes (``x[..., 0]``, ``x[:, ::2]``) convert to builtins at any shape.
    """
    new_axis = _mask_bits(node, "new_axis_mask")
    rank, dims = rank_and_dims(frozen, node.input[0])
    if new_axis == 0 or (rank is not None and None not in dims):
        return None  # an ordinary slice, or static shapes: TFLite's STRIDED_SLICE/RESHAPE handle it
    if rank is None:
        return "StridedSlice with new axes on a tensor of unknown rank"
    begin, end, strides = (frozen.const(ref) for ref in node.input[1:4])
    if begin is None or end is None or strides is None:
        return "StridedSlice with new axes and tensor (non-constant) bounds"
    sparse = _sparse_index(node, begin, end, strides)
    consumed = sum(1 for item in sparse if item is not None and item is not Ellipsis)
    if consumed > rank or sparse.count(Ellipsis) > 1:
        return "StridedSlice whose index does not fit its input's rank"
    fill = [slice(None)] * (rank - consumed)
    dense = (sparse[:sparse.index(Ellipsis)] + fill + sparse[sparse.index(Ellipsis) + 1:]
             if Ellipsis in sparse else sparse + fill)
    new_positions, out_dim = [], 0
    for item in dense:
        if item is None:
            new_positions.append(out_dim)
        if not isinstance(item, int):
            out_dim += 1
    index = tuple(item for item in dense if item is not None)
    whole = all(isinstance(item, slice) and item == slice(None) for item in index)

    def build(x: Any) -> Any:
        t = tf()
        y = x if whole else x[index]
        for position in new_positions:  # ascending, in output coordinates: earlier insertions are already there
            y = t.expand_dims(y, position)
        return y

    return Replacement((node.input[0],), build)


def _resource_capture(frozen: FrozenGraph, ref: str) -> Any | None:
    """The live resource behind a (frozen) resource input: followed through Identity to a capture placeholder."""
    name = ref.split(":")[0]
    while True:
        node = frozen.node(name)
        if node is None:
            return None
        if node.op == "Placeholder":
            return frozen.captures.get(name)
        if node.op != "Identity":
            return None
        name = node.input[0].split(":")[0]


def _table_contents(frozen: FrozenGraph, node: Any) -> tuple[Any, Any] | str:
    """A lookup table's (keys, values) as numpy, read from the restored table the serving function captured.

    The serving function only holds the table's handle; its keys and values are imported by the
    initializer (LookupTableImportV2 in __saved_model_init_op). Restoring the SavedModel runs that
    initializer, so exporting the restored table gives exactly what the initializer imported, whatever
    fed it (constants, a vocabulary file).
    """
    t = tf()
    key_dtype = t.dtypes.as_dtype(node.attr["Tin"].type)
    value_dtype = t.dtypes.as_dtype(node.attr["Tout"].type)
    if key_dtype == t.string:
        return (f"a string-keyed lookup table with {value_dtype.name} values: only string->int64 tables are TFLite "
                "builtins; map the strings to int64 ids in the table and gather the values, or do the string "
                "preprocessing outside the model")
    if not key_dtype.is_integer or not (value_dtype.is_integer or value_dtype.is_floating):
        return f"a lookup table {key_dtype.name}->{value_dtype.name} (only integer keys to numbers are replaced)"
    table = _resource_capture(frozen, node.input[0])
    if table is None:
        return "a lookup table that is not a resource the serving function captured"
    keys, values = t.raw_ops.LookupTableExportV2(table_handle=table, Tkeys=key_dtype, Tvalues=value_dtype)
    keys, values = keys.numpy(), values.numpy()
    if values.ndim != 1 or len(keys) != len(values):
        return "a lookup table whose values are not scalars"
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]


def _table_find(frozen: FrozenGraph, node: Any) -> Replacement | str:
    """Integer-keyed table lookup as a binary search over the sorted keys (log2(n) gathers), default on a miss."""
    contents = _table_contents(frozen, node)
    if isinstance(contents, str):
        return contents
    keys, values = contents
    n = len(keys)

    def build(ids: Any, default: Any) -> Any:
        t = tf()
        if n == 0:
            return t.fill(t.shape(ids), default)
        sorted_keys, table_values = t.constant(keys), t.constant(values)
        pos = t.zeros_like(ids, dtype=t.int32)  # becomes the number of keys <= id
        step = 1 << (n.bit_length() - 1)
        while step:
            candidate = pos + step
            probe = t.gather(sorted_keys, t.minimum(candidate, n) - 1)
            pos = t.where(t.logical_and(candidate <= n, probe <= ids), candidate, pos)
            step >>= 1
        last = t.maximum(pos - 1, 0)
        found = t.logical_and(pos > 0, t.equal(t.gather(sorted_keys, last), ids))
        return t.where(found, t.gather(table_values, last), default)

    return Replacement((node.input[1], node.input[2]), build)


def _table_size(frozen: FrozenGraph, node: Any) -> Replacement | str:
    table = _resource_capture(frozen, node.input[0])
    if table is None:
        return "a lookup table that is not a resource the serving function captured"
    size = int(tf().raw_ops.LookupTableSizeV2(table_handle=table).numpy())
    return Replacement((), lambda: tf().constant(size, tf().int64))


def _never(reason: str) -> Callable[[FrozenGraph, Any], Replacement | str]:
    return lambda frozen, node: reason


TABLE: dict[str, Substitution] = {
    s.op: s
    for s in (
        Substitution("Roll", "concat of two slices per axis (shift and axis fixed by constants or static shapes, as in "
                     "tf.signal.fftshift)", _roll),
        Substitution("Cumprod", "running product of slices along a static axis (exclusive and reverse kept)", _cumprod),
        Substitution("Cross", "explicit component formula", _cross),
        Substitution("PrintV2", "removed: it only prints", _print),
        Substitution("DenseBincount", "sum of one-hot rows (constant size or minlength == maxlength, no weights)", _bincount),
        Substitution("MatrixDeterminant", "explicit 2x2/3x3 formula", _determinant),
        Substitution("MatrixInverse", "adjugate over determinant (2x2/3x3)", _inverse),
        Substitution("ResizeArea", "two constant matrix products (TF's own area weights); average pooling for "
                     "integer downscales", _resize_area),
        Substitution("StridedSlice", "slice without the new axes, then ExpandDims (new_axis_mask on dynamic dims)",
                     _strided_slice),
        Substitution("LookupTableFindV2", "binary search over the sorted integer keys, default on a miss (keys and "
                     "values read from the restored table)", _table_find),
        Substitution("LookupTableSizeV2", "the table's size as a constant", _table_size),
        Substitution("ScaleAndTranslate", "none", _never(
            "antialias resize has no builtin equivalent: dropping antialias changes outputs by about 0.25 (docs/facts.md §7); "
            "resize without antialias in the source if that is acceptable")),
        Substitution("EagerPyFunc", "none", _never("tf.py_function runs Python: rewrite it in TF ops in the source")),
        Substitution("PyFunc", "none", _never("tf.numpy_function runs Python: rewrite it in TF ops in the source")),
        Substitution("StringToHashBucketFast", "none", _never(
            "string hashing (StringLookup/StaticVocabularyTable with OOV buckets, Hashing) has no builtin: do the "
            "string preprocessing outside the model and serve int64 ids, or use a string->int64 StaticHashTable "
            "without OOV buckets (builtin)")),
    )
}
# Ops that only exist to feed one being removed, or that tnp/tf.* lower to alongside it.
_DROPPED_WITH = {"StringFormat": "PrintV2", "HashTableV2": "LookupTableFindV2", "LookupTableImportV2": "LookupTableFindV2"}


class SubstituteFlexOps(Rewrite):
    """Replace Flex and custom ops by exact builtin equivalents, in the SavedModel's graph.

    What it fixes:
        Roll, Cumprod, Cross, PrintV2, DenseBincount, MatrixInverse, MatrixDeterminant, ResizeArea
        (any size), StridedSlice with new axes on dynamic dims (x[..., tf.newaxis], mask[None, :, :]),
        and integer-keyed lookup tables (keras IntegerLookup, StaticHashTable int64 -> int64/float),
        also when one replaced op feeds another (tf.roll into tf.math.cumprod); and the calls that
        lower to them (tf.signal.fftshift/ifftshift, tnp.roll, tnp.cumprod, tnp.cross).
    Why it fails:
        They are not TFLite builtins: ERROR_NEEDS_FLEX_OPS ("TF Select ops: Roll") or, worse,
        ERROR_NEEDS_CUSTOM_OPS ("Custom ops: ResizeArea"), which SELECT_TF_OPS does not rescue. The pip
        interpreters cannot run Flex ops at all. A StridedSlice with new_axis_mask can stay Flex when
        dims are unknown (x[..., tf.newaxis] on [?, ?], mask[None, :, :] on [T, T]; measured, TF 2.21);
        at static shapes it folds away, and tf.expand_dims is builtin at any shape.
        Only string<->int64 hash tables are builtins.
    Safety:
        safe. Each row is exact under its condition (a constant shift, a static axis length, static
        image sizes, constant slice bounds, a table whose contents the restored model holds, ...) and
        the verification gate still checks parity; a node whose condition fails is refused with the
        reason. Variables are frozen into constants; a replaced table's contents become constants.
        The serving contract is unchanged: a Flex StridedSlice is substituted (dims stay dynamic)
        rather than pinned, because the pin changes the contract; with --pin the pin runs first
        and the slice folds away.
    References:
        docs/facts.md §3 and §7 (each equivalent verified: Roll 0, Cumprod 2.3e-10, Cross 0, bincount 0,
        3x3 inverse 6e-8, area resize 6e-8). Measured for this rewrite: new-axis slices 0 (TF and
        .tflite), area weights read off TF's own ResizeArea 1e-6 for up-, down- and mixed scaling,
        integer tables 0; avg_pool is kept for integer downscales (5-23x faster than the matrices).
    """

    id = "substitute_flex_ops"
    title = "replace Flex/custom ops by builtin equivalents"
    answers = frozenset({FindingKind.NEEDS_FLEX_OPS, FindingKind.NEEDS_CUSTOM_OPS})
    safety = Safety.SAFE
    cases = ("ops/cumprod", "ops/bincount", "ops/cumprod_reverse_exclusive", "ops/custom_cross", "ops/fftshift_spectrum",
             "ops/flex_roll", "ops/int_hash_table", "ops/integer_lookup", "ops/matrix_inverse", "ops/newaxis_spectrogram",
             "ops/print_debug", "ops/resize_area", "ops/resize_area_fractional", "ops/roll_into_cumprod", "ops/tnp_keras_layer")
    tried_in_diagnose = True  # its conditions are only known on the frozen graph

    def claims(self, finding: Finding) -> bool:
        ops = set(finding.ops or ())
        return finding.kind in self.answers and bool(ops & set(TABLE))

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        ops = list(finding.ops or ())
        missing = [op for op in ops if op not in TABLE and op not in _DROPPED_WITH]
        if missing:
            return f"no builtin equivalent known for {', '.join(missing)}"
        refused = [TABLE[op] for op in ops if op in TABLE and TABLE[op].equivalent == "none"]
        if refused:
            return refused[0].plan(None, None)  # type: ignore[arg-type, return-value]
        # The converter's Details lines say which form failed; refuse early what apply would refuse.
        if "StridedSlice" in ops and re.search(r"tf\.StridedSlice\(.*new_axis_mask = 0 ", finding.evidence):
            return "a Flex StridedSlice without new axes (only x[..., None]-style slices have a builtin form here)"
        if "LookupTableFindV2" in ops and re.search(r"tf\.LookupTableFindV2\([^)]*!tf_type\.string", finding.evidence):
            return ("a string-keyed lookup table whose values are not int64: only string->int64 tables are TFLite "
                    "builtins; map the strings to int64 ids in the table and gather the values, or do the string "
                    "preprocessing outside the model")
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        try:
            done = substitute(model, scratch, {op: row.plan for op, row in TABLE.items()}, who=self.id)
        except SurgeryFailed as exc:
            raise RewriteFailed(str(exc)) from exc
        summary = f"replaced {done.counts()} by builtin equivalents (variables frozen into constants)"
        if "StridedSlice" in done.done:
            summary += "; the inputs keep their unknown dims (pinning them with --pin folds these slices away instead)"
        return Applied(done.model, summary, op_delta=done.op_delta)


