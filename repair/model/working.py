"""The model as the pipeline sees it: an immutable description of what to serve and how.

A ``WorkingModel`` never changes: every rewrite returns a new one. It names a SavedModel directory
(the user's, read only, or one in scratch), the tag set to load it with, and an ``Entry``: which
callable inside serves (a signature, a restored tf.function, or a pruned TF1 graph) and the serving
contract (input/output keys, shapes, dtypes) the exported ``serving_default`` must have. Each
``Port`` remembers its ``origin``, the key of the same tensor in the original model, so parity can
compare the repaired model with the original however keys were renamed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVING_DEFAULT, ArtifactKind, SavedModelInfo, SignatureInfo, read_saved_model

Shape = tuple[int | None, ...] | None


class EntryKind(enum.Enum):
    SIGNATURE = "signature"  # loaded.signatures[ref]
    FUNCTION = "function"  # a restored tf.function at object path ref, concrete function ``index``
    PRUNED = "pruned"  # a TF1 graph cut from feeds to fetches (tensor names)


@dataclass(frozen=True)
class Port:
    """One serving input or output."""

    name: str  # key in the exported serving_default
    origin: str  # key of the same tensor in the original model (what parity compares by)
    source: str  # how the underlying callable names it: kwarg, positional index, or graph tensor
    dtype: str
    shape: Shape

    def shape_text(self) -> str:
        if self.shape is None:
            return "<unknown rank>"
        return "[" + ",".join("?" if d is None else str(d) for d in self.shape) + "]"


def pin_conflict(port: Port, pin: tuple[int | None, ...]) -> str | None:
    """Why ``--pin`` cannot apply to this input (a rank or a static dim it contradicts), or None."""
    if port.shape is None:
        return None
    if len(pin) != len(port.shape):
        return f"rank {len(pin)} given, the input has rank {len(port.shape)} {port.shape_text()}"
    for i, (have, want) in enumerate(zip(port.shape, pin)):
        if have is not None and want is not None and have != want:
            return f"dimension {i} is fixed at {have} in the model, {want} given ({port.shape_text()})"
    return None


def merged_pin(port: Port, pin: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """The shape after pinning: the pin's sizes, and the model's own where the pin says -1."""
    if port.shape is None:
        return pin
    return tuple(have if want is None else want for have, want in zip(port.shape, pin))


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    ref: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    index: int = 0

    def describe(self) -> str:
        if self.kind is EntryKind.SIGNATURE:
            return f"signature '{self.ref}'"
        if self.kind is EntryKind.FUNCTION:
            return f"traced function '{self.ref}' (concrete function {self.index})"
        return "TF1 graph from " + ", ".join(p.source for p in self.inputs) + " to " + ", ".join(p.source for p in self.outputs)


@dataclass(frozen=True)
class WorkingModel:
    """A SavedModel plus the serving contract to export from it."""

    path: Path
    tags: frozenset[str]
    info: SavedModelInfo | None  # None for a Keras file, which is not a SavedModel yet
    entry: Entry | None  # None: nothing servable found yet
    reexport: bool = False  # must be re-saved through the TF2 loader to take effect
    kind: ArtifactKind = ArtifactKind.SAVED_MODEL
    keras_file: Path | None = None  # the user's .keras/.h5 this SavedModel was exported from, if any

    def with_entry(self, entry: Entry) -> WorkingModel:
        return replace(self, entry=entry, reexport=True)


def entry_from_signature(sig: SignatureInfo) -> Entry:
    return Entry(
        kind=EntryKind.SIGNATURE,
        ref=sig.key,
        inputs=tuple(Port(t.key, t.key, t.key, t.dtype, t.shape) for t in sig.inputs),
        outputs=tuple(Port(t.key, t.key, t.key, t.dtype, t.shape) for t in sig.outputs),
    )


def open_file_artifact(path: Path, kind: ArtifactKind) -> WorkingModel:
    """A .keras/.h5 file or a frozen GraphDef: nothing to serve until it becomes a SavedModel."""
    return WorkingModel(path=path, tags=frozenset(), info=None, entry=None, kind=kind)


def open_saved_model(path: Path) -> WorkingModel:
    """Read a SavedModel statically and pick the meta graph and entry to work from."""
    info = read_saved_model(path)
    graph = info.best_graph()
    sig = graph.signatures.get(SERVING_DEFAULT)
    if sig is None and len(graph.signatures) == 1:
        sig = next(iter(graph.signatures.values()))
    entry = entry_from_signature(sig) if sig is not None else None
    return WorkingModel(path=path, tags=graph.tags, info=info, entry=entry)


def reopen(dest: Path, previous: Entry) -> WorkingModel:
    """Open a SavedModel just written for ``previous``'s contract, keeping each port's origin."""
    saved = open_saved_model(dest)
    assert saved.entry is not None
    origins = {p.name: p.origin for p in previous.inputs + previous.outputs}
    entry = replace(
        saved.entry,
        inputs=tuple(replace(p, origin=origins.get(p.name, p.origin)) for p in saved.entry.inputs),
        outputs=tuple(replace(p, origin=origins.get(p.name, p.origin)) for p in saved.entry.outputs),
    )
    return replace(saved, entry=entry)


_LOADED: dict[tuple[str, frozenset[str]], Any] = {}


def load(path: Path, tags: frozenset[str]) -> Any:
    """tf.saved_model.load, once per (path, tags) per process."""
    key = (str(path.resolve()), tags)
    if key not in _LOADED:
        with captured_stderr():
            _LOADED[key] = tf().saved_model.load(str(path), tags=sorted(tags))
    return _LOADED[key]


def forget(path: Path) -> None:
    """Drop cached loads of a directory that is about to move or disappear."""
    prefix = str(path.resolve())
    for key in [k for k in _LOADED if k[0].startswith(prefix)]:
        del _LOADED[key]


def _resolve_attr(root: Any, dotted: str) -> Any:
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def flatten_outputs(out: Any) -> dict[str, Any]:
    """Name a function's outputs the way a signature would: dict keys, or output_0, output_1, ..."""
    if isinstance(out, dict):
        return dict(out)
    if isinstance(out, (list, tuple)):
        return {f"output_{i}": v for i, v in enumerate(out)}
    return {"output_0": out}


def concrete_function(loaded: Any, entry: Entry) -> Any:
    """The concrete function behind a FUNCTION entry."""
    return _resolve_attr(loaded, entry.ref).concrete_functions[entry.index]


def serving_callable(loaded: Any, entry: Entry) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function from {port name: tensor} to {port name: tensor} that runs the entry."""
    if entry.kind is EntryKind.SIGNATURE:
        fn = loaded.signatures[entry.ref]

        def call_signature(feeds: dict[str, Any]) -> dict[str, Any]:
            out = fn(**{p.source: feeds[p.name] for p in entry.inputs})
            return {p.name: out[p.source] for p in entry.outputs}

        return call_signature
    if entry.kind is EntryKind.FUNCTION:
        cf = concrete_function(loaded, entry)

        def call_function(feeds: dict[str, Any]) -> dict[str, Any]:
            ordered = sorted(entry.inputs, key=lambda p: int(p.source))
            out = flatten_outputs(cf(*[feeds[p.name] for p in ordered]))
            return {p.name: out[p.source] for p in entry.outputs}

        return call_function
    pruned = loaded.prune(feeds=[p.source for p in entry.inputs], fetches=[p.source for p in entry.outputs])

    def call_pruned(feeds: dict[str, Any]) -> dict[str, Any]:
        out = pruned(*[feeds[p.name] for p in entry.inputs])
        return {p.name: v for p, v in zip(entry.outputs, out)}

    return call_pruned


def tensor_spec(port: Port) -> Any:
    t = tf()
    return t.TensorSpec(None if port.shape is None else list(port.shape), t.dtypes.as_dtype(port.dtype), name=port.name)


def _unchanged_signature(loaded: Any, entry: Entry) -> Any | None:
    """The loaded signature itself when the entry serves exactly its contract (same keys, dtypes, shapes):
    then it is saved as it is, with no wrapper to trace."""
    if entry.kind is not EntryKind.SIGNATURE or entry.ref not in getattr(loaded, "signatures", {}):
        return None
    fn = loaded.signatures[entry.ref]
    specs = {**fn.structured_input_signature[1], **fn.structured_outputs}

    def same(port: Port) -> bool:
        spec = specs.get(port.name)
        shape = None if spec is None or spec.shape.rank is None else tuple(spec.shape.as_list())
        return port.source == port.name and spec is not None and spec.dtype.name == port.dtype and shape == port.shape

    ports = entry.inputs + entry.outputs
    return fn if len(specs) == len(ports) and all(same(p) for p in ports) else None


def save_serving(model: WorkingModel, dest: Path) -> None:
    """Save ``model`` to ``dest`` as a serve-tagged SavedModel whose serving_default is its entry.

    The model's other signatures are saved unchanged beside it.

    The loaded object is attached to the saved root so its variables (and assets, tables) are
    saved and bound to the new signature: this is what makes Keras 3 ``tf.saved_model.save``
    exports correct again (docs/facts.md 1i).
    """
    assert model.entry is not None
    t = tf()
    entry = model.entry
    loaded = load(model.path, model.tags)
    root = t.Module()
    root.model = loaded
    serving = _unchanged_signature(loaded, entry)
    if serving is None:  # a new contract (pins, renames, another entry kind): a tf.function that calls the entry
        call = serving_callable(loaded, entry)
        names = [p.name for p in entry.inputs]

        def serve(*args: Any) -> dict[str, Any]:
            return call(dict(zip(names, args)))

        root.serve = t.function(serve, input_signature=[tensor_spec(p) for p in entry.inputs])
        serving = root.serve.get_concrete_function()
    # Keep every other signature: clients calling 'predict' or 'preprocess' must not break.
    signatures = {key: f for key, f in getattr(loaded, "signatures", {}).items() if key != SERVING_DEFAULT}
    signatures[SERVING_DEFAULT] = serving
    with captured_stderr():
        t.saved_model.save(root, str(dest), signatures=signatures)
