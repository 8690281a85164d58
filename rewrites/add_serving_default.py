"""add_serving_default: expose a named signature as serving_default."""

from __future__ import annotations

from pathlib import Path

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.fix.rewrite import Applied, Rewrite, Safety
from repair.model.artifact import SERVING_DEFAULT, SignatureInfo
from repair.model.working import WorkingModel, entry_from_signature

# Names people give the one signature they meant to serve, most likely first.
_PREFERRED = ("serve", "serving", "predict", "default", "call", "inference")


def _same_contract(a: SignatureInfo | None, b: SignatureInfo) -> bool:
    """Same keys, dtypes and shapes: serving_default already serves what signature ``b`` does."""
    if a is None:
        return False

    def shape(sig: SignatureInfo) -> list[tuple[str, str, object]]:
        return [(t.key, t.dtype, t.shape) for t in sig.inputs + sig.outputs]

    return shape(a) == shape(b)


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
        tf.saved_model.save signatures argument; docs/facts.md section 1.
    """

    id = "add_serving_default"
    title = "add serving_default calling the named signature"
    answers = frozenset({FindingKind.NO_SERVING_DEFAULT})
    safety = Safety.SAFE
    cases = ("signatures/named_only", "signatures/choose_signature")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        if model.info is None:
            return []
        graph = model.info.best_graph()
        if not graph.signatures:  # no signature at all: build_tf1_signature's or wrap_traced_function's finding
            return []
        wanted = options.signature
        if (wanted and wanted != SERVING_DEFAULT and wanted in graph.signatures
                and not _same_contract(graph.signatures.get(SERVING_DEFAULT), graph.signatures[wanted])):
            return [worded(FindingKind.NO_SERVING_DEFAULT, Severity.ERROR, Source.STATIC, title="asked", explanation="asked",
                           signature=wanted, evidence="signatures: " + ", ".join(sorted(graph.signatures)), subject=wanted)]
        if SERVING_DEFAULT in graph.signatures:
            return []
        keys = ", ".join(sorted(graph.signatures))
        return [worded(FindingKind.NO_SERVING_DEFAULT, Severity.ERROR, Source.STATIC, keys=keys,
                       evidence=f"signatures: {keys}", subject=keys)]

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
