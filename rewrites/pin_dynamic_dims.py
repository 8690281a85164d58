"""pin_dynamic_dims: fix unknown input dimensions to the sizes the user deploys with."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from repair.core.errors import BadInput
from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.core.tfenv import tf
from repair.fix.rewrite import Applied, Rewrite, Safety
from repair.graph.walk import Library, fixed_input_shape
from repair.model.working import Port, WorkingModel, merged_pin, pin_conflict

Dims = tuple[int | None, ...]
_SHAPE_CHECK_OPS = {"EnsureShape"}
_TARGET_KINDS = (FindingKind.GPU_INCOMPATIBLE, FindingKind.MICRO_INCOMPATIBLE)


def inferred_shapes(model: WorkingModel) -> dict[str, Dims]:
    """Shapes the graph itself imposes (tf.ensure_shape, a reshape to a constant shape), by input name."""
    assert model.entry is not None
    if model.info is None or model.reexport:
        return {}
    sig = model.info.best_graph().signatures.get(model.entry.ref)
    if sig is None:
        return {}
    tf()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((model.path / "saved_model.pb").read_bytes())
    graph_def = next(mg.graph_def for mg in proto.meta_graphs if frozenset(mg.meta_info_def.tags) == model.tags)
    library = Library(graph_def)
    tensors = {t.key: t.tensor for t in sig.inputs}
    found: dict[str, Dims] = {}
    for port in model.entry.inputs:
        if port.shape is None or port.source not in tensors:
            continue
        fixed = fixed_input_shape(graph_def, tensors[port.source], len(port.shape), library)
        if fixed is None:
            continue
        merged = tuple(have if have is not None else got for have, got in zip(port.shape, fixed))
        if merged != port.shape and all(d is not None for d in merged[1:]):
            found[port.name] = merged
    return found


def wanted_shapes(model: WorkingModel, options: Options) -> dict[str, Dims]:
    """Pins by input name: --pin flags first, then a --sample file's shapes, then what the graph imposes."""
    assert model.entry is not None
    shapes: dict[str, Dims] = dict(inferred_shapes(model))
    if options.sample is not None and options.sample.is_file():
        with np.load(options.sample, allow_pickle=False) as data:
            for port in model.entry.inputs:
                for key in (port.name, port.origin):
                    if key in data.files:
                        # A sample fixes the sizes, not the batch: a dynamic batch stays dynamic.
                        dims = [int(d) for d in data[key].shape]
                        shapes[port.name] = tuple(None if i == 0 and port.shape and port.shape[0] is None else d
                                                  for i, d in enumerate(dims))
                        break
    count = len(model.entry.inputs)
    for index, port in enumerate(model.entry.inputs):
        pin = options.pin_for(port.name, port.origin, index, count)
        if pin is not None and pin_conflict(port, pin) is None:  # a conflicting pin is bad input (validate_flags)
            shapes[port.name] = merged_pin(port, pin)
    if options.static_shapes:  # micro runtimes and delegates want a fixed batch: 1 unless the user pinned one
        for port in model.entry.inputs:
            shape = shapes.get(port.name, port.shape)
            if shape and shape[0] is None:
                shapes[port.name] = (1, *shape[1:])
    return shapes


def _pinned(port: Port, shape: Dims) -> Port:
    problem = pin_conflict(port, shape)
    if problem:
        raise BadInput(f"--pin {port.name}: {problem}")
    return replace(port, shape=merged_pin(port, shape))


def pin_flags(model: WorkingModel, static_batch: bool = False) -> str:
    """The exact flags to paste, with placeholders for the unknown sizes (an unknown batch stays -1, or is 1 for a
    target that wants static shapes)."""
    assert model.entry is not None
    flags = []
    for port in model.entry.inputs:
        if port.shape is None or any(d is None for d in port.shape[1:]):
            batch = "1" if static_batch else "-1"
            dims = [batch if i == 0 and d is None else ("N" if d is None else str(d)) for i, d in enumerate(port.shape or ())]
            flags.append(f"--pin {port.name}={','.join(dims) or 'SHAPE'}")
    return " ".join(flags)


class PinDynamicDims(Rewrite):
    """Pin unknown input dimensions to concrete sizes in the serving signature.

    What it fixes:
        Inputs such as [None, None, None, 3] whose non-batch dims are unknown.
    Why it fails:
        The default converter accepts them (the legacy one refuses: "None is only supported in the 1st
        dimension"), but the .tflite then has shape_signature -1 dims: the interpreter must be resized
        before every call ("Cannot set tensor: Dimension mismatch"), graphs valid at one size fail at
        others ("XNNPack delegate failed to reshape runtime"), and delegates and micro runtimes refuse
        dynamic shapes.
    Safety:
        unsafe: the serving contract only accepts the pinned shape afterwards. The sizes come from
        --pin NAME=1,224,224,3, from the arrays in --sample FILE.npz, or from the graph itself when it
        fixes them (tf.ensure_shape, a reshape of the input to a constant shape); nothing is guessed.
        With --target tflite-strict, gpu or micro (targets that refuse dynamic shapes) an unknown batch
        dimension is pinned to 1.
        Pinning also removes a Flex EnsureShape: tf.ensure_shape on a dynamic input converts to Flex in
        TF 2.21 (measured here, not in docs/facts.md) and folds away once the shape is static.
    References:
        docs/facts.md section 2 (verified, diff 1.4e-6 pinned at 224).
    """

    id = "pin_dynamic_dims"
    title = "pin unknown input dimensions"
    answers = frozenset({FindingKind.DYNAMIC_DIMS, FindingKind.NEEDS_FLEX_OPS, FindingKind.GPU_INCOMPATIBLE,
                         FindingKind.MICRO_INCOMPATIBLE})
    safety = Safety.UNSAFE
    cases = ("shapes/pin_batch_only", "shapes/dynamic_image", "shapes/ensure_shape", "shapes/flatten_8x8",
             "loops/keras_lstm_dynamic_time", "ops/causal_mask_pin", "targets/gpu_dynamic_batch",
             "targets/micro_arena")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        entry = model.entry
        if model.info is None or entry is None:
            return []
        strict = options.static_shapes
        first = 0 if strict else 1  # the strict target wants the batch dimension fixed too
        dynamic = [p for p in entry.inputs if p.shape is None or any(d is None for d in p.shape[first:])]
        # An explicit --pin is a contract: an input it would change is a finding even when the model converts as it
        # is (only its batch unknown), so the pin is applied and reported, never dropped in silence.
        count = len(entry.inputs)
        pinned = {p.name: merged_pin(p, pin) for i, p in enumerate(entry.inputs)
                  if (pin := options.pin_for(p.name, p.origin, i, count)) is not None and merged_pin(p, pin) != p.shape}
        if not dynamic and not pinned:
            return []
        listed = ", ".join(f"{p.name} {p.shape_text()}"
                           + (f" (--pin asks for {list(pinned[p.name])})" if p.name in pinned else "")
                           for p in entry.inputs if p in dynamic or p.name in pinned)
        return [worded(FindingKind.DYNAMIC_DIMS, Severity.ERROR if strict or pinned else Severity.WARNING, Source.STATIC,
                       title="pin" if not dynamic else "strict" if strict else "", explanation="pin" if pinned else "",
                       evidence=listed, subject=", ".join(dict.fromkeys([p.name for p in dynamic] + list(pinned))))]

    def claims(self, finding: Finding) -> bool:
        # tf.ensure_shape on a dynamic input stays a Flex EnsureShape, and so does a slice with new axes
        # (x[..., tf.newaxis]) on two or more unknown dims; with static shapes both fold away (measured, TF 2.21).
        if finding.kind is FindingKind.NEEDS_FLEX_OPS:
            return set(finding.ops or ()) <= _SHAPE_CHECK_OPS | {"StridedSlice"}
        if finding.kind in _TARGET_KINDS:  # a target refusing only tensors with unknown dims (repair.targets.Offender)
            offenders = finding.data.get("offenders")
            return isinstance(offenders, list) and bool(offenders) and all(
                isinstance(o, dict) and o.get("dynamic") for o in offenders)
        return super().claims(finding)

    def consented(self, options: Options) -> bool:
        # --target tflite-strict, gpu or micro asks for static shapes (an unknown batch becomes 1): the target is the consent.
        return bool(options.pins) or options.sample is not None or options.static_shapes

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        shapes = wanted_shapes(model, options)
        if finding.kind in _TARGET_KINDS and all(p.shape is not None and None not in p.shape for p in model.entry.inputs):
            return "the inputs are already static: the unknown dims come from inside the graph (a size computed at run time)"
        if finding.kind is FindingKind.NEEDS_FLEX_OPS and "StridedSlice" in (finding.ops or ()):
            # Only fully static inputs are sure to fold the slice away: an unknown batch alone keeps it Flex when
            # another dim along the way is computed (an STFT of [?,16000] audio; measured), so the batch is pinned too.
            dynamic = [p for p in model.entry.inputs if p.shape is None or None in p.shape]
            if not dynamic:
                return "the inputs are already static: pinning cannot remove this StridedSlice"
            wanted = {p.name: shapes.get(p.name, p.shape) for p in dynamic}
            unpinned = [name for name, dims in wanted.items() if dims is None or None in dims]
            if unpinned:
                flags = " ".join(
                    f"--pin {name}=" + (",".join("1" if i == 0 and d is None else ("N" if d is None else str(d))
                                                 for i, d in enumerate(wanted[name] or ())) or "SHAPE")
                    for name in unpinned)
                names = ", ".join(f"`{name}`" for name in unpinned)
                return (f"pinning {names} removes this (at static shapes the StridedSlice folds away): "
                        f"paste {flags}")
            return None
        missing = []
        for port in model.entry.inputs:
            shape = shapes.get(port.name, port.shape)
            if shape is None or None in shape[1:]:
                missing.append(port.name)
        if missing:
            flags = pin_flags(model, options.static_shapes)
            return f"sizes unknown for {', '.join(missing)}; paste: {flags} (or give --sample FILE.npz)"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        shapes = wanted_shapes(model, options)
        inputs = tuple(_pinned(p, shapes[p.name]) if p.name in shapes else p for p in model.entry.inputs)
        inferred = inferred_shapes(model)
        changes = ", ".join(
            f"{a.name} {a.shape_text()} -> {b.shape_text()}"
            + (" (fixed by the graph)" if inferred.get(a.name) == b.shape else "")
            for a, b in zip(model.entry.inputs, inputs) if a != b
        )
        return Applied(model.with_entry(replace(model.entry, inputs=inputs)), f"pinned {changes}")
