"""rebind_variables: re-save through the TF2 loader so the signature reads restored variables."""

from __future__ import annotations

from pathlib import Path

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.fix.rewrite import Applied, Rewrite, Safety
from repair.model.working import EntryKind, WorkingModel


class RebindVariables(Rewrite):
    """Re-save the model so its serving signature reads the restored variables.

    What it fixes:
        A Keras 3 model saved with tf.saved_model.save(model, dir): it converts with no error and the
        .tflite outputs garbage (NaN, 1e31); TF Serving's loader fails with "Could not find variable".
    Why it fails:
        In the TF1-session view that the converter and TF Serving use, the checkpoint restores into
        variables named Variable, Variable_1, ... while the signature reads dense/kernel, dense/bias,
        which stay uninitialized. The .tflite shows VAR_HANDLE/READ_VARIABLE with no CALL_ONCE.
    Safety:
        safe. tf.saved_model.load binds the variables correctly; re-saving the loaded object with an
        explicit serving_default keeps the same keys and computes the same outputs (diff 0).
    References:
        docs/facts.md 1i, 1j and surprise 6.
    """

    id = "rebind_variables"
    title = "re-save through the TF2 loader so variables bind"
    answers = frozenset({FindingKind.UNBOUND_VARIABLES, FindingKind.SESSION_LOADER_FAILURE, FindingKind.PARITY_MISMATCH})
    safety = Safety.SAFE
    cases = ("keras/keras3_saved_model_save", "keras/keras3_multi_input_ids", "keras/keras3_string_lookup_saved_model_save",
             "loops/keras3_gru_saved_model_save", "ops/mixed_float16_saved_model_save")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        entry = model.entry
        if model.info is None or entry is None or entry.kind is not EntryKind.SIGNATURE:
            return []
        unbound = model.info.best_graph().unbound_reads.get(entry.ref, ())
        if not unbound:
            return []
        return [worded(FindingKind.UNBOUND_VARIABLES, Severity.ERROR, Source.STATIC, count=len(unbound),
                       evidence=f"read by {entry.ref} but assigned by neither the restore op nor an initializer: "
                       + ", ".join(unbound[:8]) + (f" (+{len(unbound) - 8} more)" if len(unbound) > 8 else ""))]

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry to re-save"
        if finding.kind is FindingKind.PARITY_MISMATCH and not finding.data.get("unbound_variables"):
            return "the mismatch is not caused by unbound variables"
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        return Applied(model.with_entry(model.entry),
                       "re-saved through tf.saved_model.load so the signature reads the restored variables")
