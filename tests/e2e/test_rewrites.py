"""One fast test per model rewrite, collected from the catalog: on the first corpus case the rewrite declares, the
detectors raise the finding it answers, ``check`` accepts the model, ``apply`` repairs it in a scratch directory, and
the same detectors no longer raise that finding on the result.

Everything runs in this process (the case itself is built by the corpus fixture, in a fresh process, because
tf_keras/tfmot cases need TF_USE_LEGACY_KERAS before TensorFlow is imported). Findings the protos show are read
statically (milliseconds); the others (Flex ops, loops, float64) need one real conversion before and one after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpora import Case
from repair.core.findings import Finding
from repair.core.options import Options, parse_targets
from repair.fix.diagnose import diagnose
from repair.fix.pipeline import open_model
from repair.fix.rewrite import Catalog, Rewrite
from repair.model.working import WorkingModel, reopen, save_serving
from rewrites import CATALOG as MODEL_REWRITES
from tests.conftest import Corpus, tree_digest

CATALOG = Catalog(MODEL_REWRITES)  # the CLI's wiring, without the source catalog


def _options(case: Case, case_dir: Path) -> Options:
    """The Options that the case's ``fix_args`` give (the flags the first cases use; a new one fails loudly)."""
    pins: dict[str, tuple[int | None, ...]] = {}
    renames: dict[str, str] = {}
    signature = None
    targets = "tflite"
    args = [a.replace("{case_dir}", str(case_dir)) for a in case.expect.fix_args]
    while args:
        flag = args.pop(0)
        if flag == "--unsafe-fixes":  # a decision flag: check() and apply() do not read it
            continue
        value = args.pop(0)
        if flag == "--pin":
            name, dims = value.split("=")
            pins[name] = tuple(None if d == "-1" else int(d) for d in dims.split(","))
        elif flag == "--rename":
            old, new = value.split("=")
            renames[old] = new
        elif flag == "--signature":
            signature = value
        elif flag == "--target":
            targets = value
        else:
            raise AssertionError(f"{case.id}: teach _options {flag}, or declare a first case without it")
    wanted, runtime = parse_targets(targets)
    return Options(pins=pins, renames=renames, signature=signature, targets=wanted, runtime=runtime)


def _answered(rewrite: Rewrite, model: WorkingModel, options: Options) -> tuple[list[Finding], bool]:
    """The findings the rewrite claims, from the static detectors when they raise one, else after a conversion;
    and whether that took the conversion."""
    for static_only in (True, False):
        claimed = [f for f in diagnose(model, options, CATALOG, static_only=static_only).findings if rewrite.claims(f)]
        if claimed:
            return claimed, not static_only
    return [], False


# Rewrites whose one pass cannot be fast: each rebuilds a tf_keras model from its configs and re-exports it through the
# legacy writer (about 20 s of CPU each, measured on 2 cores; unroll_keras_rnn also converts a TensorList model that
# fails slowly). The others take 0.1-7 s each, the corpus build aside.
SLOW = {"strip_pruning_keras_file", "unroll_keras_rnn"}


def _first_cases() -> list[object]:
    return [pytest.param(r.id, r.cases[0], id=r.id, marks=[pytest.mark.slow] if r.id in SLOW else [])
            for r in MODEL_REWRITES]


@pytest.mark.parametrize(("rewrite_id", "case_id"), _first_cases())
def test_rewrite_repairs_its_first_case(rewrite_id: str, case_id: str, corpus: Corpus, tmp_path: Path) -> None:
    rewrite = CATALOG[rewrite_id]
    options = _options(corpus.cases[case_id], corpus.case_dir(case_id))
    model = open_model(corpus.artifact(case_id))
    untouched = tree_digest(model.path)
    before, converted = _answered(rewrite, model, options)
    assert before, f"no detector raises a finding {rewrite_id} answers on {case_id}"
    finding = before[0]
    assert rewrite.check(model, finding, options) is None
    (tmp_path / "scratch").mkdir()
    applied = rewrite.apply(model, finding, options, tmp_path / "scratch")
    assert applied.summary and tree_digest(model.path) == untouched  # a new model; the input is never touched
    result = applied.model
    if result.reexport:  # the pipeline's export stage: the new entry takes effect once re-saved as serving_default
        assert result.entry is not None
        save_serving(result, tmp_path / "exported")
        result = reopen(tmp_path / "exported", result.entry)
    after = diagnose(result, options, CATALOG, static_only=not converted).findings
    if finding.kind not in applied.partly:
        assert finding.kind not in {f.kind for f in after}, f"{rewrite_id} left {finding.kind.value} on {case_id}"


def test_lower_op_versions_rows_beyond_its_case(tmp_path: Path) -> None:
    """lower_op_versions' other rows on one tiny model: a float16 and an int16 cache update (DYNAMIC_UPDATE_SLICE v3, v4),
    gather_nd on bool params (GATHER_ND v5) and with int16 indices, gather with int16 indices (GATHER v6). Runtime 2.12
    cannot load the model's conversion; it loads the rewritten one's, whose .tflite outputs equal the original's."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice

    from repair.core.findings import FindingKind
    from repair.targets.runtime import check_runtime
    from rewrites.lower_op_versions import LowerOpVersions

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([4, 6], tf.float32), tf.TensorSpec([3, 1], tf.int32),
                                      tf.TensorSpec([8, 4], tf.float16), tf.TensorSpec([8, 4], tf.int32),
                                      tf.TensorSpec([2], tf.int32)])
        def serve(self, x: Any, idx: Any, cache16: Any, cache_int: Any, pos: Any) -> dict[str, Any]:
            row = x[:1, :4]
            return {"mask": tf.cast(tf.gather_nd(x > 0, idx), tf.float32),
                    "nd16": tf.gather_nd(x, tf.cast(idx, tf.int16)),
                    "g16": tf.gather(x, tf.cast(idx[:, 0], tf.int16), axis=0),
                    "half": tf.cast(dynamic_update_slice(cache16, tf.cast(row, tf.float16), pos), tf.float32),
                    "short": tf.cast(dynamic_update_slice(tf.cast(cache_int, tf.int16), tf.cast(row * 100, tf.int16), pos),
                                     tf.float32)}

    module = Model()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    options = Options(targets=parse_targets("runtime=2.12")[0], runtime=(2, 12))
    model = open_model(tmp_path / "sm")
    rewrite = LowerOpVersions()
    finding = next(f for f in diagnose(model, options, CATALOG).findings if f.kind is FindingKind.RUNTIME_TOO_OLD)
    offenders = finding.data["offenders"]
    assert isinstance(offenders, list)
    assert {o["op"] for o in offenders} == {"DYNAMIC_UPDATE_SLICE", "GATHER", "GATHER_ND"}
    assert rewrite.claims(finding) and rewrite.check(model, finding, options) is None
    (tmp_path / "scratch").mkdir()
    applied = rewrite.apply(model, finding, options, tmp_path / "scratch")
    blob = tf.lite.TFLiteConverter.from_saved_model(str(applied.model.path)).convert()
    report = check_runtime(blob, (2, 12))
    assert report.ok, report.summary
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=blob).get_signature_runner()
    reference = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    rng = np.random.default_rng(0)
    for pos in ([0, 0], [5, 1], [9, 3], [-2, 0]):  # past the end and negative: both sides clamp the start
        feeds = {"x": rng.normal(size=(4, 6)).astype(np.float32), "idx": rng.integers(0, 4, (3, 1)).astype(np.int32),
                 "cache16": rng.normal(size=(8, 4)).astype(np.float16),
                 "cache_int": rng.integers(-300, 300, (8, 4)).astype(np.int32), "pos": np.array(pos, np.int32)}
        want = reference(**{k: tf.constant(v) for k, v in feeds.items()})
        got = runner(**feeds)
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value.numpy(), err_msg=f"{key} at {pos}")


def test_substitute_target_ops_unpack_beyond_its_case(tmp_path: Path) -> None:
    """substitute_target_ops' UNPACK row on axes its case does not use (1 and -1) and one piece (a RESHAPE alone): the
    GPU rules refuse the conversion's UNPACKs and accept the rewritten one's, whose .tflite outputs equal the
    original's exactly (pure data movement)."""
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from repair.core.findings import FindingKind
    from repair.targets.gpu import check_gpu
    from rewrites.substitute_target_ops import SubstituteTargetOps

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([2, 3, 4], tf.float32), tf.TensorSpec([1, 5], tf.float32)])
        def serve(self, x: Any, y: Any) -> dict[str, Any]:
            a, b, c = tf.unstack(x, axis=1), tf.unstack(x, axis=-1), tf.unstack(y, axis=0)
            return {"a": a[0] * 2.0 + a[2], "b": b[1] - b[3], "c": c[0] + 1.0}

    module = Model()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    options = Options(targets=parse_targets("gpu")[0])
    model = open_model(tmp_path / "sm")
    rewrite = SubstituteTargetOps()
    finding = next(f for f in diagnose(model, options, CATALOG).findings if f.kind is FindingKind.GPU_INCOMPATIBLE)
    offenders = finding.data["offenders"]
    assert isinstance(offenders, list) and {o["op"] for o in offenders} == {"UNPACK"} and len(offenders) == 3
    assert rewrite.claims(finding) and rewrite.check(model, finding, options) is None
    (tmp_path / "scratch").mkdir()
    applied = rewrite.apply(model, finding, options, tmp_path / "scratch")
    before = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm")).convert()
    after = tf.lite.TFLiteConverter.from_saved_model(str(applied.model.path)).convert()
    report = check_gpu(after)
    assert report.ok, report.summary
    want, got = (Interpreter(model_content=blob).get_signature_runner() for blob in (before, after))
    rng = np.random.default_rng(0)
    feeds = {"x": rng.normal(size=(2, 3, 4)).astype(np.float32), "y": rng.normal(size=(1, 5)).astype(np.float32)}
    expected, actual = want(**feeds), got(**feeds)
    assert set(actual) == set(expected)
    for key, value in expected.items():
        assert actual[key].shape == value.shape
        np.testing.assert_array_equal(actual[key], value, err_msg=key)
