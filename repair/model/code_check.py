"""Does a Keras model file hold code? Read its configs (never load them) and say which layer does, before any loader.

A Keras loader turns configs into objects, and some configs are programs. Measured in the installed Keras 3.15
and tf_keras 2.21 sources, these forms run Python or touch files the user did not hand over:

- ``Lambda`` layers: a marshalled lambda (tf_keras ``function_type: "lambda"``, Keras 3 ``__lambda__``) is
  rebuilt with ``func_load`` and runs as soon as the functional graph is rebuilt; a Lambda naming a function
  calls whatever that name resolves to. tf_keras' ``.h5`` and SavedModel loaders ignore ``safe_mode``
  (hdf5_format.load_model_from_hdf5 and saved_model/load.py open no SafeModeScope), so only this check stops them.
- tf_keras RNN cell wrappers (``residual_fn_type: "lambda"`` ...): the same marshalled bytecode.
- a class or function reference whose ``module`` is outside Keras/TensorFlow: tf_keras' native loader
  ``importlib.import_module``s it, and importing a module runs it (Keras 3 refuses such modules, but the rule
  is the same for both).
- ``TFOpLambda``/``SlicingOpLambda`` name any ``tf_export``ed symbol (``tf.io.write_file``, ``tf.py_function``,
  ``tf.load_library`` are all in the table ``get_symbol_from_name`` reads): only TensorFlow op namespaces pass.
- ``TFSMLayer`` loads another SavedModel from a path in the config; ``TorchModuleWrapper`` unpickles a module;
  a lookup layer whose ``vocabulary`` is a string reads that file (Keras 3 guards all three with safe mode,
  tf_keras' lookup layers do not).

What is not read by the loaders the tool uses is not judged: they load with ``compile=False``, which skips the
top-level ``compile_config`` of config.json and the ``training_config`` attribute of an .h5 (custom losses and
metrics). A nested model's ``compile_config`` is deserialized even then, so it is walked.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repair.core import wire
from repair.core.errors import BadInput
from repair.core.text import plain

FLAG = "--unsafe-load"
# Packages a config may name as a module: the libraries' own code, already installed, never the model's.
_TRUSTED_PACKAGES = frozenset({"keras", "tf_keras", "tensorflow", "builtins", "keras_hub", "keras_cv", "keras_nlp",
                               "tensorflow_model_optimization"})
# TFOpLambda names: namespaces whose symbols are graph ops on tensors (no files, no Python callbacks, no loading).
_OP_NAMESPACES = frozenset({"math", "nn", "linalg", "__operators__", "image", "signal", "bitwise", "sparse", "ragged",
                            "strings", "random", "dtypes", "sets", "quantization"})
# Top-level tf.* names that are not graph ops on tensors (they print to files, call Python, load libraries, talk RPC,
# change process state). Anything capitalized is a class (tf.Module, tf.Variable, tf.Graph...): refused as well.
_NOT_OPS = frozenset({"print", "Print", "py_func", "py_function", "numpy_function", "load_library", "load_op_library", "function",
                      "import_graph_def", "register_tensor_conversion_function", "get_logger", "init_scope",
                      "variable_creator_scope", "custom_gradient", "recompute_grad", "no_gradient", "name_scope",
                      "control_dependencies", "device", "executing_eagerly", "inside_function", "make_ndarray",
                      "make_tensor_proto", "map_fn", "vectorized_map", "while_loop", "cond", "case", "switch_case",
                      "foldl", "foldr", "scan", "nondifferentiable_batch_function", "gradients", "hessians"})
_NOT_OP_PREFIXES = ("rpc_", "xla_", "d_tensor_", "configure_", "shutdown_", "check_", "delete_", "copy_to_mesh",
                    "relayout")
_LOOKUPS = frozenset({"StringLookup", "IntegerLookup", "IndexLookup", "TextVectorization"})


@dataclass(frozen=True)
class CodeRef:
    """One place in a Keras config that would run code (or read a foreign file) when loaded."""

    layer: str  # layer names from the root, 'outer/inner' ('' for the root object itself)
    class_name: str  # the class of the layer (or object) that holds it
    what: str  # what it runs, in words

    def describe(self) -> str:
        """``layer 'name' (Class) what``: the model's strings with control characters made harmless."""
        name = plain(self.layer or "(the model)")[:120]
        return f"layer '{name}' ({plain(self.class_name)[:60]}) {plain(self.what)[:200]}"


def tf_symbol_is_op(symbol: str) -> bool:
    """Whether a TFOpLambda's ``function`` (a tf_export name such as 'math.add') names a TensorFlow graph op."""
    name = symbol
    for prefix in ("compat.v1.", "compat.v2."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    parts = name.split(".")
    if not name or any(not p for p in parts):
        return False
    if len(parts) == 1:
        return not (name in _NOT_OPS or name[0].isupper() or name.startswith(_NOT_OP_PREFIXES))
    if parts[0] == "experimental" and len(parts) > 2 and parts[1] == "numpy":
        return True
    if parts[0] == "debugging":  # the assertions and check_numerics are ops; the rest configure the process
        return parts[-1].startswith("assert_") or parts[-1] in ("check_numerics", "is_numeric_tensor")
    return parts[0] in _OP_NAMESPACES


def _trusted_module(module: str) -> bool:
    return module.split(".", 1)[0] in _TRUSTED_PACKAGES


def _layer_name(node: dict[str, Any]) -> str | None:
    inner = node.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    name = name if name is not None else node.get("name")
    return name if isinstance(name, str) else None


def _refs_here(node: dict[str, Any], layer: str, owner: str) -> Iterator[CodeRef]:
    """What this one dict (a serialized object, or a layer's config) references that is code."""
    class_name = node.get("class_name")
    config = node.get("config")
    inner: dict[str, Any] = config if isinstance(config, dict) else {}
    if isinstance(class_name, str):
        if class_name == "Lambda":
            kind = inner.get("function_type")
            function = inner.get("function")
            if kind == "lambda" or (isinstance(function, dict) and function.get("class_name") == "__lambda__"):
                yield CodeRef(layer, class_name, "holds marshalled Python bytecode (a lambda)")
            elif isinstance(function, dict) and isinstance(function.get("config"), str):
                module = function.get("module") or inner.get("module")
                yield CodeRef(layer, class_name, f"calls the Python function '{function['config']}'"
                                                 + (f" of module '{module}'" if module else ""))
            else:
                yield CodeRef(layer, class_name, "calls Python code (a Lambda layer)")
        elif class_name == "__lambda__":
            yield CodeRef(layer, owner, "holds marshalled Python bytecode (a lambda)")
        elif class_name in ("TFOpLambda", "SlicingOpLambda"):
            function = inner.get("function")
            if not isinstance(function, str) or not tf_symbol_is_op(function):
                yield CodeRef(layer, class_name, f"calls tf.{function}, which is not a TensorFlow op on tensors")
        elif class_name == "ClassMethod":
            method = inner.get("method_name")
            if inner.get("cls_symbol") not in ("RaggedTensor", "SparseTensor") or not isinstance(method, str) \
                    or method.startswith("_"):
                yield CodeRef(layer, class_name, f"calls tf.{inner.get('cls_symbol')}.{method}")
        elif class_name in ("InstanceMethod", "InstanceProperty"):
            name = inner.get("name")
            if not isinstance(name, str) or name.startswith("_"):
                yield CodeRef(layer, class_name, f"reaches the tensor attribute '{name}'")
        elif class_name == "TFSMLayer":
            yield CodeRef(layer, class_name, f"loads another SavedModel from '{inner.get('filepath')}'")
        elif class_name == "TorchModuleWrapper":
            yield CodeRef(layer, class_name, "holds a pickled torch module")
        elif class_name in _LOOKUPS and isinstance(inner.get("vocabulary"), str):
            yield CodeRef(layer, class_name, f"reads the vocabulary file '{inner['vocabulary']}' from outside the model")
        module = node.get("module")
        if isinstance(module, str) and module and not _trusted_module(module) and class_name != "Lambda":
            function = class_name == "function"
            target = node.get("config") if function else class_name
            yield CodeRef(layer, owner if function else class_name,
                          f"names the {'function' if function else 'class'} '{target}' of the Python module '{module}' "
                          "(code from outside Keras: importing it runs it)")
    for key, value in node.items():  # tf_keras cell wrappers: residual_fn / residual_fn_type: "lambda"
        if isinstance(key, str) and key.endswith("_type") and value == "lambda" and key[:-5] in node \
                and class_name != "Lambda":
            yield CodeRef(layer, owner, f"holds marshalled Python bytecode ('{key[:-5]}')")


def find_code(config: Any, *, layer: str = "", owner: str = "model") -> list[CodeRef]:
    """Every place in a decoded Keras config (any nesting: models in models, wrappers, cells) that is code.

    Pure: reads dicts and lists, imports nothing. ``layer``/``owner`` name where ``config`` sits.
    """
    found: list[CodeRef] = []
    stack: list[tuple[Any, str, str]] = [(config, layer, owner)]
    seen = 0
    while stack:
        node, where, cls = stack.pop()
        seen += 1
        if seen > 1_000_000:  # a config this large is not a model the tool can rebuild either
            found.append(CodeRef(where, cls, "is too deeply nested to be checked"))
            break
        if isinstance(node, list):
            stack.extend((item, where, cls) for item in reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        here_where, here_cls = where, cls
        class_name = node.get("class_name")
        inner = node.get("config")
        if isinstance(class_name, str) and isinstance(inner, dict) and not class_name.startswith("__") \
                and class_name != "function":
            here_cls = class_name
            name = _layer_name(node)
            is_root_model = not where and "layers" in inner  # the model itself: its layers are named from it
            if name is not None and not is_root_model:
                here_where = f"{where}/{name}" if where else name
        found.extend(_refs_here(node, here_where, here_cls))
        if class_name == "Lambda":
            continue  # judged whole above: its function, output_shape and mask are its own code
        stack.extend((value, here_where, here_cls) for value in reversed(list(node.values())))
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------------------------------------------------------
# Where the configs are: read with h5py / zipfile / the protobuf wire format, never with Keras.


class Unreadable(Exception):
    """The configs a loader would deserialize cannot be read here: treat the file as unchecked."""


def _json(raw: Any, where: str) -> Any:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"{where} is not valid JSON ({exc})") from None


def keras_file_configs(path: Path) -> list[tuple[str, Any]]:
    """(where, decoded JSON) of every config a Keras loader deserializes from a .keras zip or an .h5 file.

    Decided by content, not by suffix (a loader may be handed either). A .keras zip: config.json without its
    top-level compile_config (skipped by compile=False). An .h5: the model_config attribute (training_config
    is read only with compile=True). A file that is neither holds no config: []."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                if "config.json" not in archive.namelist():
                    return []
                config = _json(archive.read("config.json"), "config.json")
        except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
            raise Unreadable(f"the zip cannot be read ({exc})") from None
        if isinstance(config, dict):
            config = {k: v for k, v in config.items() if k != "compile_config"}
        return [("config.json", config)]
    with open(path, "rb") as f:
        head = f.read(8)
    if head != b"\x89HDF\r\n\x1a\n":  # the HDF5 signature (at offset 0 for every file Keras writes)
        return []
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
    except (OSError, ValueError) as exc:
        raise Unreadable(f"the HDF5 file cannot be read ({exc})") from None
    return [] if raw is None else [("model_config", _json(raw, "the model_config attribute"))]


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one keras_metadata.pb message; a malformed one is Unreadable."""
    try:
        yield from wire.fields(data)
    except wire.WireError as exc:
        raise Unreadable(f"keras_metadata.pb: {exc}") from None


def keras_metadata_configs(data: bytes) -> list[tuple[str, Any]]:
    """(node path, decoded metadata JSON) of every node of a tf_keras keras_metadata.pb (SavedMetadata:
    repeated SavedObject nodes = 1; in each, node_path = 3 and metadata = 5, a JSON string)."""
    out = []
    for number, node in _fields(data):
        if number != 1 or not isinstance(node, bytes):
            continue
        path, metadata = "", b""
        for field, value in _fields(node):
            if field == 3 and isinstance(value, bytes):
                path = value.decode("utf-8", "replace")
            elif field == 5 and isinstance(value, bytes):
                metadata = value
        if metadata:
            out.append((path, _json(metadata, f"the metadata of {path or 'a node'}")))
    return out


def _refusal(subject: str, refs: list[CodeRef]) -> str:
    more = f" (and {len(refs) - 1} more)" if len(refs) > 1 else ""
    return (f"{subject}: {refs[0].describe()}{more}: loading it would run code from the model; "
            f"rerun with {FLAG} only if you trust the file")


def code_in_keras_file(path: Path) -> list[CodeRef]:
    """The code a Keras loader would run from this .keras/.h5 file (raises Unreadable when it cannot tell)."""
    return [ref for _, config in keras_file_configs(path) for ref in find_code(config)]


def check_keras_file(path: Path, unsafe: bool) -> None:
    """Raise BadInput naming the layer and --unsafe-load when the file holds code; call before any loader sees it."""
    if unsafe:
        return
    try:
        refs = code_in_keras_file(path)
    except Unreadable as exc:
        raise BadInput(f"{plain(path)}: cannot check the Keras config for code before loading it: {plain(exc)}") from None
    if refs:
        raise BadInput(_refusal(plain(path), refs))


def keras_metadata_refusal(saved_model: Path, unsafe: bool) -> str | None:
    """Why a tf_keras SavedModel's keras_metadata.pb must not be revived (names the layer and the flag), or None.

    For a rewrite to raise as RewriteFailed: the SavedModel's graph stays usable without reviving the layers."""
    if unsafe:
        return None
    meta = saved_model / "keras_metadata.pb"
    if not meta.is_file():
        return None
    try:
        nodes = keras_metadata_configs(meta.read_bytes())
    except (Unreadable, OSError) as exc:
        return f"keras_metadata.pb cannot be checked for code ({plain(exc)}); rerun with {FLAG} if you trust the model"
    # Node 0 is the root model; its config holds every layer. The other nodes repeat each layer's config.
    refs = [ref for _, config in nodes for ref in find_code(config)]
    unique = list(dict.fromkeys(refs))
    return _refusal("the Keras configs in keras_metadata.pb", unique) if unique else None
