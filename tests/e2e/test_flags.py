"""Flags that name things must name real things, and what they ask for must be what gets published."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from repair.cli import ModelFlags, flag_name
from tests.cli_helpers import repair
from tests.conftest import Corpus


@pytest.mark.parametrize(
    "flag, needle",
    [
        (["--pin", "nosuch=1,4"], "no input is called 'nosuch'"),
        (["--rename", "nosuch=b"], "no input or output is called 'nosuch'"),
        (["--signature", "nosuch"], "no such signature"),
    ],
)
def test_unknown_names_are_bad_input(corpus: Corpus, tmp_path: Path, flag: list[str], needle: str) -> None:
    run = repair("fix", str(corpus.artifact("signatures/choose_signature")), "--out", str(tmp_path / "o"), *flag)
    assert run.exit_code == 2, run.stdout
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists()


def test_pin_contradicting_a_static_dim_is_bad_input(corpus: Corpus, tmp_path: Path) -> None:
    run = repair("fix", str(corpus.artifact("shapes/dynamic_image")), "--out", str(tmp_path / "o"), "--pin", "image=1,8,8,4")
    assert run.exit_code == 2
    assert "dimension 3 is fixed at 3" in run.stderr


@pytest.mark.slow
def test_other_signatures_survive_the_repair(corpus: Corpus, tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf

    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("signatures/choose_signature")), "--out", str(out), "--signature", "preprocess")
    assert run.exit_code == 0, run.stdout
    loaded = tf.saved_model.load(str(out))
    assert set(loaded.signatures) == {"serving_default", "preprocess"}
    x = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 4))
    served = loaded.signatures["serving_default"](raw=x)["norm"].numpy()
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_sample_pins_keep_the_batch_dynamic(corpus: Corpus, tmp_path: Path) -> None:
    import json

    case_dir = corpus.case_dir("shapes/flatten_8x8")
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("shapes/flatten_8x8")), "--out", str(out), "--sample", str(case_dir / "sample.npz"))
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"]["image"] == [-1, 8, 8, 3]


# --- one declaration of the model flags (repair.cli.ModelFlags) -------------------------------------------------------

# fix's parameters that batch does not offer, each with the reason. A parameter added to `fix` must either reach
# `batch` (a ModelFlags field does by itself) or be named here: test_batch_accepts_every_fix_flag fails otherwise.
FIX_ONLY = {
    "model": "batch takes ZOO and discovers the models in it",
    "out_dir": "batch has an --out of its own: each model is published to OUT/NAME",
    "force": "batch clears what an earlier attempt at a model left itself",
    "report": "each model's report goes to OUT/NAME.report",
    "yes": "safe fixes are accepted by default and a batch never prompts",
    "interactive": "a batch never prompts: its children's stdin is closed",
    "plan_out": "a plan describes one model; batch runs many",
    "source": "the Python source that built one model: it differs per model",
}


def _command(name: str):  # type: ignore[no-untyped-def]
    """The click command typer builds for ``repair NAME``: what users can really pass."""
    import typer.main

    from repair.cli import app

    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def _non_defaults(tmp_path: Path) -> ModelFlags:
    """Every model flag set to a value other than its default (paths relative, as a user types them)."""
    return ModelFlags(target="serving", pin=["x=1,4", "y=-1,2"], sample=Path("s.npz"), input_keys="a,b",
                      rename=["x=in"], request=Path("r.json"), io_hint=["inputs:x=x:0"], signature="sig",
                      unsafe_load=True, allow_side_effects=True, seed=3, batch=5, atol=0.5, rtol=0.25,
                      quantize="int8", io="uint8", calibration_samples=8, budget=["cosine=0.9", "out:top1=0.5"])


def test_every_model_flag_is_one_option_of_diagnose_fix_and_batch() -> None:
    """Each ModelFlags field is the option ``flag_name`` spells, with the field's default, in all three commands
    (diagnose leaves out the tolerance: it judges nothing against one)."""
    for command, omitted in (("fix", set()), ("batch", set()), ("diagnose", {"atol", "rtol"})):
        params = {p.name: p for p in _command(command).params}
        for f in fields(ModelFlags):
            if f.name in omitted:
                assert f.name not in params, (command, f.name)
                continue
            param = params[f.name]
            assert param.opts == [flag_name(f.name)], (command, param.opts)
            assert param.default == f.default, (command, f.name)


def test_batch_accepts_every_fix_flag() -> None:
    """Every option of `repair fix` is one of `repair batch` too (same spelling, type, default), except FIX_ONLY."""
    fix, batch = _command("fix"), _command("batch")
    fix_context, batch_context = fix.context_class(fix), batch.context_class(batch)
    offered = {p.name: p for p in batch.params}
    for param in fix.params:
        if param.name in FIX_ONLY:
            continue
        assert param.name in offered, f"repair fix {'/'.join(param.opts)} is not offered by repair batch"
        other = offered[param.name]
        assert (other.opts, other.secondary_opts, other.multiple, other.is_flag, other.default) == \
               (param.opts, param.secondary_opts, param.multiple, param.is_flag, param.default), param.name
        # the option as --help shows it: its spellings and the type of its value (e.g. "--pin <list[str]>")
        assert other.get_help_record(batch_context)[0] == param.get_help_record(fix_context)[0], param.name


def test_forwarded_flags_parse_back_to_the_same_flags(tmp_path: Path) -> None:
    """What batch gives each child is what `repair fix` parses back into the same flags (paths made absolute)."""
    flags = _non_defaults(tmp_path)
    values, switches = flags.forwarded()
    context = _command("fix").make_context("fix", ["model", *values, *switches])
    parsed = ModelFlags(**{f.name: context.params[f.name] for f in fields(ModelFlags)})
    assert parsed == replace(flags, sample=Path("s.npz").absolute(), request=Path("r.json").absolute())
    assert switches == ["--unsafe-load", "--allow-side-effects"]


def test_forwarded_defaults_are_what_earlier_batch_states_hold() -> None:
    """A batch-state.json is only resumed with the same fix arguments: the defaults are given as earlier versions
    wrote them, so a batch started before this declaration resumes after it."""
    assert ModelFlags().forwarded() == (["--target", "tflite", "--seed", "0", "--batch", "2", "--atol", "1e-05",
                                         "--rtol", "0.0001"], [])


def test_given_flags_are_the_non_defaults_in_declaration_order(tmp_path: Path) -> None:
    """diagnose's next command: only what the user gave, spelled as given (paths as typed), in --help order."""
    assert ModelFlags().given() == []
    assert _non_defaults(tmp_path).given() == [
        "--target", "serving", "--pin", "x=1,4", "--pin", "y=-1,2", "--sample", "s.npz", "--input-keys", "a,b",
        "--rename", "x=in", "--request", "r.json", "--io-hint", "inputs:x=x:0", "--signature", "sig", "--unsafe-load",
        "--allow-side-effects", "--seed", "3", "--batch", "5", "--atol", "0.5", "--rtol", "0.25", "--quantize", "int8",
        "--io", "uint8", "--calibration-samples", "8", "--budget", "cosine=0.9", "--budget", "out:top1=0.5"]
