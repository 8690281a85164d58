"""add_serving_default: expose a named signature as serving_default."""

from __future__ import annotations

from pathlib import Path

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.fix.rewrite import Applied, Rewrite, Safety
from repair.model.working import WorkingModel, entry_from_signature

# Names people give the one signature they meant to serve, most likely first.
_PREFERRED = ("serve", "serving", "predict", "default", "call", "inference")


class AddServingDefault(Rewrite):
    """Add a serving_default signature that calls an existing named signature.

    What it fixes:
        A SavedModel saved with signatures={'predict': f} (or any key) but no 'serving_default'.
    Why it fails:
        TF Serving and saved_model_cli default to 'serving_default'; clients that do not name a
        signature get "Serving signature name: serving_default not found". The TFLite converter
        converts every signature, so the .tflite's default runner is missing too.
        With --signature KEY, also replaces an existing serving_default by signature KEY.
    Safety:
        safe. Every other signature is kept; serving_default calls the chosen one with the same keys.
    References:
        tf.saved_model.save signatures argument; ATLAS.md section 1.
    """

    id = "add_serving_default"
    title = "add serving_default calling the named signature"
    answers = frozenset({FindingKind.NO_SERVING_DEFAULT})
    safety = Safety.SAFE

    def _pick(self, model: WorkingModel, options: Options) -> str | None:
        assert model.info is not None
        keys = sorted(model.info.best_graph().signatures)
        if options.signature:
            return options.signature if options.signature in keys else None
        if len(keys) == 1:
            return keys[0]
        return next((k for k in _PREFERRED if k in keys), None)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.info is None:
            return "not a SavedModel"
        keys = sorted(model.info.best_graph().signatures)
        if self._pick(model, options) is None:
            if options.signature:
                return f"--signature {options.signature}: no such signature (has {', '.join(keys)})"
            return f"several signatures ({', '.join(keys)}): choose one with --signature {keys[0]}"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.info is not None
        key = self._pick(model, options)
        assert key is not None
        entry = entry_from_signature(model.info.best_graph().signatures[key])
        # Parity then compares with the original's own `key` signature, not its old serving_default.
        return Applied(model.with_entry(entry), f"serving_default now calls signature '{key}'", rebase_reference=True)
