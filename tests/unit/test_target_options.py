"""--target and --accept-fallback as the user spells them, and how a failing target's report becomes a finding."""

from __future__ import annotations

import pytest

from repair.cli import ModelFlags
from repair.core.errors import BadInput
from repair.core.findings import FindingKind, Severity
from repair.core.options import Options, Target, parse_targets
from repair.fix import targets as stage
from repair.targets import Offender, TargetReport


def test_targets_parse_as_a_comma_separated_list_with_tflite_always_in() -> None:
    targets, runtime = parse_targets("gpu, XNNPACK,micro,runtime=2.14")
    assert targets == {Target.TFLITE, Target.GPU, Target.XNNPACK, Target.MICRO, Target.RUNTIME}
    assert runtime == (2, 14)
    assert parse_targets("tflite") == (frozenset({Target.TFLITE}), None)
    assert parse_targets("runtime=2.14.1")[1] == (2, 14)


@pytest.mark.parametrize("text, needle", [
    ("gpus", "unknown target 'gpus'"),
    ("runtime", "runtime=MAJOR.MINOR"),
    ("runtime=two", "runtime=MAJOR.MINOR"),
    ("gpu=1", "takes no value"),
])
def test_a_bad_target_names_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_targets(text)


def test_bad_target_flags_are_bad_input_naming_the_flag() -> None:
    with pytest.raises(BadInput, match="--target gpus"):
        ModelFlags(target="gpus").options()
    with pytest.raises(BadInput, match="only gpu and xnnpack"):
        ModelFlags(target="micro", accept_fallback="micro").options()
    with pytest.raises(BadInput, match="not one of the --target values"):
        ModelFlags(target="gpu", accept_fallback="xnnpack").options()
    options = ModelFlags(target="gpu,xnnpack,runtime=2.14", accept_fallback="gpu").options()
    assert options.accept_fallback == {Target.GPU}
    assert options.target_text == "tflite,gpu,xnnpack,runtime=2.14"


def test_static_shape_targets_are_the_ones_that_refuse_unknown_dims() -> None:
    assert Options(targets=frozenset({Target.TFLITE, Target.GPU})).static_shapes
    assert Options(targets=frozenset({Target.TFLITE, Target.MICRO})).static_shapes
    assert Options(targets=frozenset({Target.TFLITE, Target.TFLITE_STRICT})).strict
    assert not Options(targets=frozenset({Target.TFLITE, Target.XNNPACK, Target.RUNTIME})).static_shapes


def _gpu_report(accepted: bool = False) -> TargetReport:
    offenders = (Offender("TOPK_V2", "Not supported op TOPK_V2", 7, 0, "TopKV2"),
                 Offender("STRIDED_SLICE", "Slice does not support shrink_axis_mask parameter. ", 3, 0, "cls"))
    return TargetReport(Target.GPU, False, "10 of 12 nodes GPU-compatible", offenders, delegated=10, total=12,
                        accepted=accepted)


def test_a_failing_target_is_one_blocking_finding_naming_its_nodes() -> None:
    (finding,) = stage.findings([_gpu_report()])
    assert finding.kind is FindingKind.GPU_INCOMPATIBLE and finding.severity is Severity.ERROR
    assert finding.title == "2 node(s) cannot run on the LiteRT GPU delegate (TOPK_V2, STRIDED_SLICE)"
    assert finding.ops == ("TOPK_V2", "STRIDED_SLICE")
    assert "TOPK_V2 #7 'TopKV2': Not supported op TOPK_V2" in finding.explanation
    assert [o["node"] for o in finding.data["offenders"]] == [7, 3]  # type: ignore[union-attr]


def test_an_accepted_fallback_is_a_warning_and_a_passing_target_no_finding() -> None:
    (finding,) = stage.findings([_gpu_report(accepted=True)])
    assert finding.severity is Severity.WARNING and finding.data["accepted_fallback"] is True
    assert stage.findings([TargetReport(Target.MICRO, True, "TFLM runs it")]) == []


def test_a_check_that_could_not_run_says_so_and_fails_the_target() -> None:
    (finding,) = stage.findings([TargetReport(Target.MICRO, False, "x", error="RuntimeError: boom")])
    assert finding.title == "The micro check could not run on the .tflite, so the target is not proven"
    assert finding.explanation == "RuntimeError: boom"


def test_runtime_finding_names_the_version_needed_and_the_ops_that_set_it() -> None:
    report = TargetReport(Target.RUNTIME, False, "needs 2.17.0", (Offender("GELU", "version 1 needs runtime 2.17.0", 4),),
                          min_runtime="2.17.0", setters=("GELU v1 (needs 2.17.0)",), wanted="2.14")
    (finding,) = stage.findings([report])
    assert finding.title == "The .tflite needs LiteRT/TFLite 2.17.0; runtime 2.14 cannot load it (GELU)"
    assert "GELU v1 (needs 2.17.0)" in finding.explanation
    assert report.to_json()["target"] == "runtime=2.14"


def test_targets_not_checked_fail_without_a_finding_of_their_own() -> None:
    options = Options(targets=frozenset({Target.TFLITE, Target.GPU, Target.RUNTIME}), runtime=(2, 14))
    reports = stage.not_checked(options, "the model did not convert")
    assert [(r.name, r.ok) for r in reports] == [("gpu", False), ("runtime=2.14", False)]
    assert stage.findings(reports) == []  # the conversion failure is the finding
