"""substitute_flex_ops: replace Flex and custom ops by builtin equivalents, by graph surgery.

The table is the rewrite: one row per TF op, with the condition under which the equivalent is exact
and the equivalent itself, in plain TensorFlow that converts to TFLite builtins. A row may refuse an
op for good (antialias resize has no equivalent: dropping antialias changes outputs by 0.25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repair.findings import Finding, FindingKind
from repair.model import WorkingModel
from repair.options import Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.surgery import FrozenGraph, freeze, op_delta, remove, save_frozen, splice, tensor_specs
from repair.tfenv import tf

Builder = Callable[..., Any]


@dataclass(frozen=True)
class Plan:
    """How to replace one node: tensors to feed the builder, and the builder (None: delete the node)."""

    data_inputs: tuple[str, ...]
    build: Builder | None


@dataclass(frozen=True)
class Substitution:
    op: str
    equivalent: str  # one line for the report and `repair rewrites`
    plan: Callable[[FrozenGraph, Any], Plan | str]  # a Plan, or why this node cannot be replaced


def _scalar(frozen: FrozenGraph, ref: str) -> int | None:
    value = frozen.const(ref)
    return int(value) if value is not None and value.ndim == 0 else None


def _rank_and_dims(frozen: FrozenGraph, ref: str) -> tuple[int | None, list[int | None]]:
    spec = tensor_specs(frozen, [ref])[0]
    if spec.shape.rank is None:
        return None, []
    return spec.shape.rank, spec.shape.as_list()


def _take(x: Any, axis: int, start: int | None, stop: int | None) -> Any:
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _roll(frozen: FrozenGraph, node: Any) -> Plan | str:
    shift, axis = _scalar(frozen, node.input[1]), _scalar(frozen, node.input[2])
    if shift is None or axis is None:
        return "Roll with a tensor shift or axis (only constant scalar shift and axis are replaced)"
    rank, dims = _rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Roll on a tensor of unknown rank"
    axis %= rank
    n = dims[axis]
    if n is None:
        return f"Roll along axis {axis} whose length is unknown; pin it with --pin"
    s = shift % n

    def build(x: Any) -> Any:
        return x if s == 0 else tf().concat([_take(x, axis, n - s, None), _take(x, axis, 0, n - s)], axis=axis)

    return Plan((node.input[0],), build)


def _cumprod(frozen: FrozenGraph, node: Any) -> Plan | str:
    axis = _scalar(frozen, node.input[1])
    if axis is None:
        return "Cumprod with a tensor axis"
    rank, dims = _rank_and_dims(frozen, node.input[0])
    if rank is None:
        return "Cumprod on a tensor of unknown rank"
    axis %= rank
    n = dims[axis]
    if n is None:
        return f"Cumprod along axis {axis} whose length is unknown; pin it with --pin"
    exclusive, reverse = node.attr["exclusive"].b, node.attr["reverse"].b

    def build(x: Any) -> Any:
        t = tf()
        items = [_take(x, axis, i, i + 1) for i in range(n)]
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

    return Plan((node.input[0],), build)


def _cross(frozen: FrozenGraph, node: Any) -> Plan | str:
    _, dims = _rank_and_dims(frozen, node.input[0])
    if not dims or dims[-1] != 3:
        return "Cross needs a static last dimension of 3"

    def build(a: Any, b: Any) -> Any:
        t = tf()
        a0, a1, a2 = (a[..., i] for i in range(3))
        b0, b1, b2 = (b[..., i] for i in range(3))
        return t.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)

    return Plan((node.input[0], node.input[1]), build)


def _print(frozen: FrozenGraph, node: Any) -> Plan | str:
    return Plan((), None)  # PrintV2 only has control outputs: removing it changes no number


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


def _bincount(frozen: FrozenGraph, node: Any) -> Plan | str:
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

    return Plan((node.input[0],), build)


def _matrix_dims(frozen: FrozenGraph, ref: str) -> int | str:
    _, dims = _rank_and_dims(frozen, ref)
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


def _determinant(frozen: FrozenGraph, node: Any) -> Plan | str:
    n = _matrix_dims(frozen, node.input[0])
    if isinstance(n, str):
        return n
    return Plan((node.input[0],), lambda m: _det(m, n))


def _inverse(frozen: FrozenGraph, node: Any) -> Plan | str:
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

    return Plan((node.input[0],), build)


def _resize_area(frozen: FrozenGraph, node: Any) -> Plan | str:
    size = frozen.const(node.input[1])
    _, dims = _rank_and_dims(frozen, node.input[0])
    if size is None or len(dims) != 4 or dims[1] is None or dims[2] is None:
        return "ResizeArea needs a static input height/width and a constant size"
    h, w = int(size[0]), int(size[1])
    if dims[1] % h or dims[2] % w:
        return f"ResizeArea from {dims[1]}x{dims[2]} to {h}x{w} is not an integer factor"
    fh, fw = dims[1] // h, dims[2] // w

    def build(image: Any) -> Any:
        t = tf()
        return t.nn.avg_pool2d(t.cast(image, t.float32), ksize=(fh, fw), strides=(fh, fw), padding="VALID")

    return Plan((node.input[0],), build)


def _never(reason: str) -> Callable[[FrozenGraph, Any], Plan | str]:
    return lambda frozen, node: reason


TABLE: dict[str, Substitution] = {
    s.op: s
    for s in (
        Substitution("Roll", "concat of two slices (constant shift and axis, static axis length)", _roll),
        Substitution("Cumprod", "running product of slices along a static axis (exclusive and reverse kept)", _cumprod),
        Substitution("Cross", "explicit component formula", _cross),
        Substitution("PrintV2", "removed: it only prints", _print),
        Substitution("DenseBincount", "sum of one-hot rows (constant size or minlength == maxlength, no weights)", _bincount),
        Substitution("MatrixDeterminant", "explicit 2x2/3x3 formula", _determinant),
        Substitution("MatrixInverse", "adjugate over determinant (2x2/3x3)", _inverse),
        Substitution("ResizeArea", "average pooling for integer factors", _resize_area),
        Substitution("ScaleAndTranslate", "none", _never(
            "antialias resize has no builtin equivalent: dropping antialias changes outputs by about 0.25 (ATLAS §7); "
            "resize without antialias in the source if that is acceptable")),
        Substitution("EagerPyFunc", "none", _never("tf.py_function runs Python: rewrite it in TF ops in the source")),
        Substitution("PyFunc", "none", _never("tf.numpy_function runs Python: rewrite it in TF ops in the source")),
    )
}
# Ops that only exist to feed one being removed, or that tnp/tf.* lower to alongside it.
_DROPPED_WITH = {"StringFormat": "PrintV2"}


class SubstituteFlexOps(Rewrite):
    """Replace Flex and custom ops by exact builtin equivalents, in the SavedModel's graph.

    What it fixes:
        Roll, Cumprod, Cross, PrintV2, DenseBincount, MatrixInverse, MatrixDeterminant and ResizeArea
        (and the tf.experimental.numpy calls that lower to them: tnp.roll, tnp.cumprod, tnp.cross).
    Why it fails:
        They are not TFLite builtins: ERROR_NEEDS_FLEX_OPS ("TF Select ops: Roll") or, worse,
        ERROR_NEEDS_CUSTOM_OPS ("Custom ops: Cross"), which SELECT_TF_OPS does not rescue. The pip
        interpreters cannot run Flex ops at all.
    Safety:
        safe. Each row is exact under its condition (a constant shift, a static axis length, an
        integer resize factor, ...) and the verification gate still checks parity; a node whose
        condition fails is refused with the reason. Variables are frozen into constants.
    References:
        ATLAS.md §3 and §7 (each equivalent verified: Roll 0, Cumprod 2.3e-10, Cross 0, bincount 0,
        3x3 inverse 6e-8, area resize 6e-8).
    """

    id = "substitute_flex_ops"
    title = "replace Flex/custom ops by builtin equivalents"
    answers = frozenset({FindingKind.NEEDS_FLEX_OPS, FindingKind.NEEDS_CUSTOM_OPS})
    safety = Safety.SAFE

    def claims(self, finding: Finding) -> bool:
        ops = set(finding.data.get("ops", []))  # type: ignore[arg-type]
        return finding.kind in self.answers and bool(ops & set(TABLE))

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        ops = [str(op) for op in finding.data.get("ops", [])]  # type: ignore[union-attr]
        missing = [op for op in ops if op not in TABLE and op not in _DROPPED_WITH]
        if missing:
            return f"no builtin equivalent known for {', '.join(missing)}"
        refused = [TABLE[op] for op in ops if op in TABLE and TABLE[op].equivalent == "none"]
        if refused:
            return refused[0].plan(None, None)  # type: ignore[arg-type, return-value]
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        frozen = freeze(model)
        ops_before = frozen.op_counts()
        done: list[str] = []
        for node in list(frozen.nodes()):
            row = TABLE.get(node.op)
            if row is None:
                continue
            plan = row.plan(frozen, node)
            if isinstance(plan, str):
                raise RewriteFailed(f"{node.op} ({node.name}): {plan}")
            if plan.build is None:
                remove(frozen, node.name)
            else:
                splice(frozen, node.name, plan.data_inputs, plan.build)
            done.append(node.op)
        if not done:
            raise RewriteFailed("none of the ops was found in the frozen serving graph")
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
        counts = ", ".join(f"{op} x{done.count(op)}" for op in sorted(set(done)))
        return Applied(new, f"replaced {counts} by builtin equivalents (variables frozen into constants)",
                       op_delta=op_delta(ops_before, frozen.op_counts()))
