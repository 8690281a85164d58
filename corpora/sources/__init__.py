"""Corpus of user *sources*: one Python script per failure class that a source rewrite (``repair codemod``) fixes.

Each script in ``corpora/sources/scripts/`` is what an ML engineer writes: imports at the top, a model,
an export call. Run as ``python SCRIPT.py OUT_DIR`` it exports a SavedModel to ``OUT_DIR/saved_model``
and writes ``OUT_DIR/reference.npz``: the inputs it used (``in:<name>``) and what its in-memory model
computed on them (``out:<name>``), the numbers the user's own Python stands for. Names are the serving
keys the model is meant to have (the keras.Input / TensorSpec / signature-def name; ``output_0`` for a
single Keras or tf.Module output). Scripts are seeded, so the original and the rewritten script build
identical weights.

The scripts live in a folder without ``__init__.py``: ``corpora.all_cases`` imports every module of
every group to look for ``CASE``, and these scripts import TensorFlow at the top (one sets
``TF_USE_LEGACY_KERAS``), which must not happen on ``python -m corpora list``. This module defines no
``CASE`` and imports nothing heavy.

``SOURCE_CASES`` says, per script, how to run the codemod, what it must apply or warn about, which
findings ``repair diagnose --json`` must show on the original model (the proof it is really broken),
and the flags both diagnoses use. ``tests/e2e/test_codemod_e2e.py`` runs them end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).parent / "scripts"
WILD_SCRIPTS = Path(__file__).parent / "wild"

__all__ = ["SCRIPTS", "SOURCE_CASES", "WILD_SCRIPTS", "SourceCase", "all_source_cases", "get_source_case"]


@dataclass(frozen=True)
class SourceCase:
    """One user script, broken the way users break it, and what ``repair codemod`` must do to it."""

    id: str  # the script's stem
    summary: str  # one line: what the script does wrong
    pins: tuple[str, ...] = ()  # codemod --pin values: "NAME=1,224,224,3" (-1 keeps a dim unknown)
    renames: tuple[str, ...] = ()  # codemod --rename values: "old=new"
    unsafe: bool = False  # codemod --unsafe-fixes
    rewrites: frozenset[str] = frozenset()  # source rewrite ids the codemod must apply (exactly these)
    warnings: frozenset[str] = frozenset()  # source rewrite ids that must show a display-only warning
    findings: frozenset[str] = frozenset()  # finding ids `repair diagnose --json` must report on the original
    diagnose_args: tuple[str, ...] = ()  # flags for both diagnoses (original and fixed), e.g. --target tflite-strict
    stays_broken: bool = False  # the codemod must change nothing (only warn); the fixed model is not checked
    legacy_keras: bool = False  # the script uses tf_keras/tfmot (it sets TF_USE_LEGACY_KERAS itself)
    # A wild case: a script rebuilt from a public thread (``url``), in corpora/sources/wild/. Its fixed model must
    # have no *blocking* finding (a real script may keep an info/warning, e.g. a dynamic batch it never pinned),
    # convert builtins-only and match the original script's outputs within atol/rtol.
    url: str = ""
    atol: float = 1e-5
    rtol: float = 1e-4
    no_while: bool = False  # wild: the fixed .tflite must hold no WHILE (loop cases)

    @property
    def wild(self) -> bool:
        return bool(self.url)

    @property
    def script(self) -> Path:
        return (WILD_SCRIPTS if self.wild else SCRIPTS) / f"{self.id}.py"

    def codemod_args(self) -> list[str]:
        """The flags of ``repair codemod`` for this case (without the path and --write)."""
        args: list[str] = []
        for pin in self.pins:
            args += ["--pin", pin]
        for rename in self.renames:
            args += ["--rename", rename]
        if self.unsafe:
            args.append("--unsafe-fixes")
        return args

    def pin_dims(self) -> dict[str, tuple[int | None, ...]]:
        """The pins as ``SourceOptions.pins``: -1 becomes None (one unknown dim)."""
        pins: dict[str, tuple[int | None, ...]] = {}
        for pin in self.pins:
            name, _, dims = pin.partition("=")
            pins[name] = tuple(None if int(d) == -1 else int(d) for d in dims.split(","))
        return pins

    def rename_map(self) -> dict[str, str]:
        return dict(r.split("=", 1) for r in self.renames)  # type: ignore[misc]


SOURCE_CASES: tuple[SourceCase, ...] = (
    SourceCase(
        id="keras3_saved_model_save",
        summary="Keras 3 model (from a build_model() function) saved with tf.saved_model.save: silent garbage",
        rewrites=frozenset({"export_keras_model"}),
        unsafe=True,  # model.export renames the input key 'inputs' -> the Input's name 'features'
        findings=frozenset({"unbound-variables", "parity-mismatch"}),
    ),
    SourceCase(
        id="tnp_float64_module",
        summary="tf.Module: tnp.asarray of Python floats, tnp.linspace, tnp.arange leak float64 (Flex AddV2/Mul)",
        rewrites=frozenset({"explicit_float32"}),
        unsafe=True,  # float64 constants become float32
        findings=frozenset({"float64-ops"}),
    ),
    SourceCase(
        id="tnp_keras_layer",
        summary="Keras 3 layer using tnp.exp of a Python list: float64 Exp/Mul in the exported graph",
        rewrites=frozenset({"swap_tnp_calls"}),
        unsafe=True,  # tnp.exp([...]) is float64, tf.math.exp([...]) float32
        findings=frozenset({"float64-ops"}),
    ),
    SourceCase(
        id="module_never_traced",
        summary="tf.Module @tf.function without input_signature, saved untraced without signatures=",
        pins=("x=-1,4",),
        # One input_signature method: tf.saved_model.save exports it as serving_default by itself, so
        # export_with_signature has nothing to add.
        rewrites=frozenset({"add_input_signature"}),
        findings=frozenset({"no-signature-never-traced"}),
    ),
    SourceCase(
        id="module_two_functions",
        summary="tf.Module with two @tf.function(input_signature=...) methods saved without signatures=",
        rewrites=frozenset({"export_with_signature"}),
        findings=frozenset({"no-signature-traced"}),
    ),
    SourceCase(
        id="keras_lstm_export",
        summary="Keras 3 LSTM(16, unroll=False) over a static 10-step time axis, model.export: TensorList loop",
        rewrites=frozenset({"unroll_rnn_layers"}),
        findings=frozenset({"tensorlist-loop"}),
    ),
    SourceCase(
        id="static_while_loop",
        summary="tf.while_loop(lambda i, h: i < 3, ...) in a tf.Module: WHILE, blocking for tflite-strict",
        rewrites=frozenset({"unroll_while_loop"}),
        findings=frozenset({"while-loop"}),
        diagnose_args=("--target", "tflite-strict"),
    ),
    SourceCase(
        id="dynamic_image",
        summary="tf.Module image model with TensorSpec([None, None, None, 3], name='image'): dynamic dims",
        pins=("image=1,32,32,3",),
        rewrites=frozenset({"pin_none_dims"}),
        findings=frozenset({"dynamic-dims"}),
        diagnose_args=("--target", "tflite-strict"),
    ),
    SourceCase(
        id="serving_keys_keras",
        summary="Keras 3 Input named 'input_features', model.export; clients send 'features'",
        renames=("input_features=features",),
        rewrites=frozenset({"rename_serving_keys_source"}),
        findings=frozenset({"serving-key-mismatch"}),
        diagnose_args=("--input-keys", "features"),
    ),
    SourceCase(
        id="serving_keys_tf1",
        summary="TF1 predict_signature_def(inputs={'input_features': x}); clients send 'features'",
        renames=("input_features=features",),
        rewrites=frozenset({"rename_serving_keys_source"}),
        findings=frozenset({"serving-key-mismatch"}),
        diagnose_args=("--input-keys", "features"),
    ),
    SourceCase(
        id="pruning_unstripped",
        summary="tf_keras + tfmot prune_low_magnitude model saved with model.save, without strip_pruning",
        rewrites=frozenset({"strip_pruning_before_export"}),
        findings=frozenset({"pruning-wrappers", "resource-variables"}),
        legacy_keras=True,
    ),
    SourceCase(
        id="py_function_postprocess",
        summary="tf.py_function in the serving function: EagerPyFunc custom op; no automatic fix, a warning",
        warnings=frozenset({"warn_py_function"}),
        findings=frozenset({"needs-custom-ops"}),
        stays_broken=True,
    ),
)


def all_source_cases() -> tuple[SourceCase, ...]:
    """The unit scripts, then the wild ones (corpora/sources/wild)."""
    from corpora.sources.wild import WILD_SOURCE_CASES

    return SOURCE_CASES + WILD_SOURCE_CASES


def get_source_case(case_id: str) -> SourceCase:
    for case in all_source_cases():
        if case.id == case_id:
            return case
    raise KeyError(case_id)
