"""rename_serving_keys: make the serving signature's keys match what clients send."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from repair.core.errors import BadInput
from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.core.request import InputPort, match_keys
from repair.core.text import count
from repair.fix.rewrite import Applied, Rewrite, Safety
from repair.model.working import WorkingModel


def key_mapping(model: WorkingModel, options: Options) -> dict[str, str] | str:
    """old key -> new key, from --rename, else --input-keys / a request's keys; or why none can be made."""
    assert model.entry is not None
    have = [p.name for p in model.entry.inputs]
    outputs = [p.name for p in model.entry.outputs]
    if options.renames:
        unknown = sorted(set(options.renames) - set(have) - set(outputs))
        if unknown:
            raise BadInput(f"--rename {unknown[0]}=...: no input or output is called '{unknown[0]}' "
                           f"(inputs: {', '.join(have)}; outputs: {', '.join(outputs)})")
        return dict(options.renames)
    wanted = list(options.wanted_input_keys)
    if not wanted:
        return "no contract given: use --input-keys, --rename old=new or --request FILE.json"
    if len(wanted) != len(have):
        return (f"the model has {count(len(have), 'input')} ({', '.join(have)}) but {count(len(wanted), 'key')} "
                "were asked for; use --rename old=new")
    if options.input_keys:
        return {old: new for old, new in zip(have, wanted) if old != new}
    ports = [InputPort(p.name, p.dtype, p.shape) for p in model.entry.inputs]
    match = match_keys(ports, options.request)
    return match.problem or match.mapping


class RenameServingKeys(Rewrite):
    """Rename serving_default's input and output keys to the contract clients use.

    What it fixes:
        A signature whose keys differ from what clients send (e.g. 'input_features' where the
        REST request carries 'features').
    Why it fails:
        The converter does not care, consumers do: TF2 "missing a required argument: 'input_features'",
        the .tflite runner "Invalid Input name (features) for SignatureDef", saved_model_cli
        '"features" is not a valid input key'.
    Safety:
        unsafe: the contract changes for every existing client. Keys come from --rename old=new,
        --input-keys (in the order diagnose lists the inputs) or a sample --request body. With several
        inputs, a request's keys are paired with the model's by what the values allow (dtype kind, rank,
        known sizes), then by related names, then, when the model's names are generic (input_1,
        keras_tensor_3), by the order of the keys in the request; the summary says which decided. When
        nothing decides, the reason names the exact --input-keys line to paste.
    References:
        docs/facts.md section 5 (verified, diff 0).
    """

    id = "rename_serving_keys"
    title = "rename serving keys to the client contract"
    answers = frozenset({FindingKind.SERVING_KEY_MISMATCH})
    safety = Safety.UNSAFE
    cases = ("serving/key_mismatch", "serving/key_mismatch_request", "serving/request_several_inputs")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        entry = model.entry
        if model.info is None or entry is None:
            return []
        wanted = options.wanted_input_keys
        have = [p.name for p in entry.inputs]
        renames_apply = options.renames and any(k in have or k in [p.name for p in entry.outputs] for k in options.renames)
        if not ((wanted and sorted(wanted) != sorted(have)) or renames_apply):
            return []
        return [worded(FindingKind.SERVING_KEY_MISMATCH, Severity.ERROR, Source.STATIC,
                       evidence=f"signature inputs: {', '.join(have)}; "
                       f"clients send: {', '.join(wanted) or '(renames requested)'}",
                       subject=", ".join(have))]

    def consented(self, options: Options) -> bool:
        return bool(options.renames or options.wanted_input_keys)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        mapping = key_mapping(model, options)
        return mapping if isinstance(mapping, str) else None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        mapping = key_mapping(model, options)
        assert isinstance(mapping, dict)
        inputs = tuple(replace(p, name=mapping.get(p.name, p.name)) for p in model.entry.inputs)
        outputs = tuple(replace(p, name=mapping.get(p.name, p.name)) for p in model.entry.outputs)
        names = [p.name for p in inputs] + [p.name for p in outputs]
        if len(set(names)) != len(names):
            raise BadInput("the renamed keys collide: " + ", ".join(names))
        text = ", ".join(f"{old} -> {new}" for old, new in mapping.items())
        if not options.renames and not options.input_keys and len(mapping) > 1:
            ports = [InputPort(p.name, p.dtype, p.shape) for p in model.entry.inputs]
            text += f" (matched by {match_keys(ports, options.request).how})"
        return Applied(model.with_entry(replace(model.entry, inputs=inputs, outputs=outputs)), f"renamed {text}")
