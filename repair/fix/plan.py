"""The plan: which fix answers which finding, and the fixes proposed for a round.

``annotate`` fills each finding's ``fix`` (or the reason nothing in the catalog fixes it) from the
catalog. How proposals are decided (flags, prompt, plan file) is ``repair.core.decide``; the pipeline never
asks anyone directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.fix.rewrite import Catalog, Rewrite, Safety
from repair.model.working import WorkingModel

# Why a finding kind has no automatic fix in this version: the next step for the user.
NO_FIX = {
    FindingKind.NO_SIGNATURE_NEVER_TRACED: "no graph was saved: only the source can fix it (add input_signature= to the "
    "@tf.function, or pass signatures= to tf.saved_model.save, then save again)",
    FindingKind.NEEDS_FLEX_OPS: "no builtin equivalent for these ops in the catalog (`repair rewrites substitute_flex_ops` "
    "lists the ones it has); rewrite them in the source, and move string processing (tf.strings, string hashing) out "
    "of the model so it serves numeric ids. SELECT_TF_OPS converts but the result cannot run without Flex",
    FindingKind.NEEDS_CUSTOM_OPS: "these ops have no TFLite kernel, builtin or Flex: rewrite them in other TF ops in the "
    "source (tf.py_function has no automatic fix)",
    FindingKind.FLOAT64_OPS: "compute in float32: cast inputs and weights to tf.float32 in the source (tnp.asarray of "
    "Python floats, tnp.arange and tnp.linspace produce float64)",  # shown only if compute_in_float32 cannot apply
    FindingKind.FLOAT16_OPS: "build the model for inference under the float32 policy (keras.mixed_precision."
    "set_global_policy('float32') before building it, then load the trained weights) and export that",
    FindingKind.TENSORLIST_LOOP: "unroll the loop: Keras RNN layers with unroll=True over a static time dimension, or a "
    "Python loop with a list and tf.stack instead of TensorArray. Do not use the converter's single-batch flag: it is "
    "wrong at batch > 1",
    FindingKind.PRUNING_WRAPPERS: "apply tfmot.sparsity.keras.strip_pruning(model) before saving",
    FindingKind.RESOURCE_VARIABLES: "freeze the variables (strip pruning wrappers, avoid stateful ops in the serving "
    "function)",
    FindingKind.WHILE_LOOP: "loops with a static trip count can be unrolled in the source (a Python range loop); "
    "blocking only for --target tflite-strict",
    FindingKind.FLOAT64_TENSORS: "give the model a float32 signature in the source",
    FindingKind.CONVERTER_ERROR: "unclassified converter failure: read the evidence",
    FindingKind.SIDE_EFFECTS: "not a conversion defect: the graph reaches outside the model, so nothing of it was run; "
    "remove those ops in the source, or pass --allow-side-effects if you trust the model",
    FindingKind.CONVERTER_CRASH: "a converter bug, not a defect the catalog knows: the evidence has the converter's last "
    "words; simplify or replace the op it names in the source, try another TensorFlow version, and report it upstream "
    "with the SavedModel",
    FindingKind.INTERPRETER_FAILURE: "the graph only works at some input sizes: pin them with --pin",
    FindingKind.REFERENCE_FAILURE: "give real input sizes with --pin NAME=... or real inputs with --sample FILE.npz",
    FindingKind.PARITY_MISMATCH: "the conversion changes the numbers; no catalog fix applies",
    FindingKind.NONDETERMINISTIC_OUTPUTS: "turn the random op off at inference (training=False, no noise layers), or "
    "give a --sample whose switches disable it; parity cannot be proven otherwise",
    FindingKind.SESSION_LOADER_FAILURE: "no catalog fix applies",
}


@dataclass(frozen=True)
class ProposedFix:
    """A fix the catalog proposes for a finding on the current model."""

    rewrite: Rewrite
    finding: Finding

    @property
    def safety(self) -> Safety:
        return self.rewrite.safety


def annotate(findings: list[Finding], model: WorkingModel, options: Options, catalog: Catalog) -> list[Finding]:
    """Fill each finding's fix from the catalog, or the reason none applies."""
    out = []
    for finding in findings:
        reasons = []
        chosen = None
        for rewrite in catalog.answering(finding.kind):
            if not rewrite.claims(finding):
                continue
            reason = rewrite.check(model, finding, options)
            if reason is None:
                chosen = rewrite
                break
            reasons.append(reason)
        if chosen is not None:
            out.append(replace(finding, fix=chosen.id, no_fix_reason=""))
        else:
            out.append(replace(finding, fix=None, no_fix_reason="; ".join(reasons) or NO_FIX.get(finding.kind, "no catalog fix")))
    return out


def proposals(findings: list[Finding], already: set[str], catalog: Catalog) -> list[ProposedFix]:
    """One proposal per rewrite not yet applied, in catalog order."""
    by_id: dict[str, Finding] = {}
    for finding in findings:
        if finding.fix and finding.fix not in already and finding.fix not in by_id:
            by_id[finding.fix] = finding
    return [ProposedFix(r, by_id[r.id]) for r in catalog if r.id in by_id]
