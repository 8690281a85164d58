"""Hostile probes, item 2 of issue 12: graphs with side effects outside the model never run by default.

Each model here is a few KB, built once per module in a subprocess, with a payload that would leave a marker file
(or read a file outside the model) if any graph of it ran: a TF2 resource initializer copying a file (runs on load),
tf.print to a file and tf.io.write_file in serving_default, a py_function, a tf.data reader, a TF1 main_op that
writes, a frozen GraphDef whose output depends on a WriteFile. ``repair fix`` must refuse (exit 1, one line naming
the op, its function and --allow-side-effects) and ``repair diagnose`` must report ``side-effects`` and keep the
static findings, with no marker; with --allow-side-effects the payload runs (the marker appears: it was real).
A vocabulary table initialised from the model's own asset file is no finding at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile
from tests.conftest import tree_digest

FLAG = "--allow-side-effects"

BUILD = r'''
"""Build the hostile side-effect models into DEST (argv[1]); markers go under MARK (argv[2])."""
import os, sys
from pathlib import Path
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf

dest, mark = Path(sys.argv[1]), Path(sys.argv[2])
dest.mkdir(parents=True, exist_ok=True)
secret = mark / "secret.txt"
secret.write_text("secret\n")
spec = [tf.TensorSpec([None, 3], tf.float32, name="x")]

# 1. a resource initializer that copies a file (runs on restore)
class Payload(tf.saved_model.experimental.TrackableResource):
    def _create_resource(self):
        return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="payload_handle")
    def _initialize(self):
        return tf.io.write_file(str(mark / "init_copy.marker"), tf.io.read_file(str(secret)))

class InitCopy(tf.Module):
    def __init__(self):
        super().__init__()
        self.payload = Payload()
        self.w = tf.Variable([[1.0], [2.0], [3.0]])
    @tf.function(input_signature=spec)
    def serve(self, x):
        return {"y": tf.matmul(x, self.w)}
m = InitCopy(); tf.saved_model.save(m, str(dest / "init_copy"), signatures={"serving_default": m.serve})

# 2. tf.print to a file in the serving function
class PrintFile(tf.Module):
    @tf.function(input_signature=spec)
    def serve(self, x):
        tf.print("x:", x, output_stream="file://" + str(mark / "print_file.marker"))
        return {"y": x * 2.0}
m = PrintFile(); tf.saved_model.save(m, str(dest / "print_file"), signatures={"serving_default": m.serve})

# 3. tf.io.write_file in the signature
class WriteFile(tf.Module):
    @tf.function(input_signature=spec)
    def serve(self, x):
        tf.io.write_file(str(mark / "write_file.marker"), tf.strings.as_string(tf.reduce_sum(x)))
        return {"y": x + 1.0}
m = WriteFile(); tf.saved_model.save(m, str(dest / "write_file"), signatures={"serving_default": m.serve})

# 4. py_function (its Python is not saved: the op still is)
class PyFunc(tf.Module):
    @tf.function(input_signature=spec)
    def serve(self, x):
        y = tf.py_function(lambda a: a * 2.0, [x], tf.float32)
        y.set_shape(x.shape)
        return {"y": y}
m = PyFunc(); tf.saved_model.save(m, str(dest / "py_function"), signatures={"serving_default": m.serve})

# 5. a tf.data reader inside the serving function (reads a file outside the model)
class DataReader(tf.Module):
    @tf.function(input_signature=spec)
    def serve(self, x):
        ds = tf.data.TextLineDataset(str(mark / "missing_reader_input.txt"))
        n = ds.reduce(tf.constant(0.0), lambda acc, line: acc + 1.0)
        return {"y": x + n}
m = DataReader(); tf.saved_model.save(m, str(dest / "data_reader"), signatures={"serving_default": m.serve})

# 6. TF1 graph whose main_op writes a file
g = tf.Graph()
with g.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
    w = tf.compat.v1.get_variable("w", initializer=tf.constant([[1.0], [2.0], [3.0]]))
    y = tf.matmul(x, w, name="y")
    write = tf.io.write_file(str(mark / "tf1_main_op.marker"), tf.constant("pwned"))
    main_op = tf.group(tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer(), write)
    with tf.compat.v1.Session(graph=g) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        b = tf.compat.v1.saved_model.Builder(str(dest / "tf1_main_op"))
        sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
        b.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig}, main_op=main_op)
        b.save()

# 7. frozen GraphDef with WriteFile as a control dependency of the output
g = tf.Graph()
with g.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
    write = tf.io.write_file(str(mark / "frozen_write.marker"), tf.constant("pwned"))
    with tf.control_dependencies([write]):
        y = tf.identity(x * 3.0, name="y")
(dest / "frozen_write.pb").write_bytes(g.as_graph_def().SerializeToString())

# 8. no false positive: a vocabulary lookup table initialised from the model's own asset
vocab = mark / "vocab.txt"
vocab.write_text("apple\nbanana\ncherry\n")
class Vocab(tf.Module):
    def __init__(self):
        super().__init__()
        init = tf.lookup.TextFileInitializer(str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                             tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
        self.table = tf.lookup.StaticHashTable(init, -1)
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
    def serve(self, words):
        return {"ids": tf.cast(self.table.lookup(words), tf.float32)}
m = Vocab(); tf.saved_model.save(m, str(dest / "vocab_asset"), signatures={"serving_default": m.serve})
print("built", sorted(p.name for p in dest.iterdir()))
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(models dir, markers dir): every hostile model built once, in a fresh process."""
    root = tmp_path_factory.mktemp("hostile-effects")
    dest, mark = root / "models", root / "markers"
    mark.mkdir()
    subprocess.run([sys.executable, "-c", BUILD, str(dest), str(mark)], check=True, capture_output=True, timeout=300)
    assert not list(mark.glob("*.marker")), "building must not run a payload"
    return dest, mark


# model, the op and the function (or graph) the refusal must name, its marker (None: the payload only reads)
CASES = {
    "init_copy": ("ReadFile", "__inference__initializer_", "init_copy.marker"),
    "print_file": ("PrintV2", "__inference_serve_", "print_file.marker"),
    "write_file": ("WriteFile", "__inference_serve_", "write_file.marker"),
    "py_function": ("EagerPyFunc", "__inference_serve_", None),
    "data_reader": ("TextLineDataset", "read_one_file", None),
    "tf1_main_op": ("WriteFile", "top-level graph", "tf1_main_op.marker"),
    "frozen_write.pb": ("WriteFile", "top-level graph", "frozen_write.marker"),
}


def _markers(mark: Path) -> list[Path]:
    return [mark / m for _, _, m in CASES.values() if m]


def _clear(mark: Path) -> None:
    for marker in mark.glob("*.marker"):
        marker.unlink()


# --- the scan on protos (fast, in-process) -----------------------------------------------------------------------

def _effects(path: Path):  # type: ignore[no-untyped-def]
    from repair.model.artifact import ArtifactKind
    from repair.model.effects import scan

    return scan(path, ArtifactKind.FROZEN_GRAPH if path.suffix == ".pb" else ArtifactKind.SAVED_MODEL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scan_names_op_and_function(models: tuple[Path, Path], name: str) -> None:
    """The static scan finds each payload op, in the function that holds it; initializers are on the load path."""
    op, where, _ = CASES[name]
    effects = _effects(models[0] / name)
    hit = [e for e in effects if e.op == op]
    assert hit, effects
    assert where in hit[0].where(), hit[0]
    assert hit[0].at_load is (name in ("init_copy", "tf1_main_op")), hit[0]


def test_scan_allows_own_asset_and_saver(models: tuple[Path, Path]) -> None:
    """A StaticHashTable from the model's own vocab asset (InitializeTableFromTextFileV2 reads a file) and the
    saver's restore of its own variables (RestoreV2) are no effect; neither is tf.print to stderr."""
    assert _effects(models[0] / "vocab_asset") == ()
    assert not [e for e in _effects(models[0] / "tf1_main_op") if e.op != "WriteFile"]


def _meta_graph(path: Path):  # type: ignore[no-untyped-def]
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    return proto.meta_graphs[0]


def test_scan_refuses_table_from_foreign_path(models: tuple[Path, Path]) -> None:
    """The same table initializer fed a constant '/etc/passwd' instead of the asset is an effect."""
    from repair.model.effects import scan_meta_graph

    mg = _meta_graph(models[0] / "vocab_asset")
    fn = next(f for f in mg.graph_def.library.function if f.signature.name.startswith("__inference__initializer"))
    init = next(n for n in fn.node_def if n.op == "InitializeTableFromTextFileV2")
    const = fn.node_def.add(name="foreign", op="Const")
    const.attr["dtype"].type = 7
    const.attr["value"].tensor.dtype = 7
    const.attr["value"].tensor.string_val.append(b"/etc/passwd")
    init.input[1] = "foreign:output:0"
    found = [e for e in scan_meta_graph(mg) if e.op == "InitializeTableFromTextFileV2"]
    assert found and "/etc/passwd" in found[0].what and found[0].at_load, found


def test_scan_refuses_restore_from_foreign_path(models: tuple[Path, Path]) -> None:
    """The saver's RestoreV2 pointed at a constant path instead of the saver's filename tensor is an effect."""
    from repair.model.effects import scan_meta_graph

    mg = _meta_graph(models[0] / "tf1_main_op")
    restore = next(n for n in mg.graph_def.node if n.op == "RestoreV2")
    restore.input[0] = "WriteFile/filename"
    found = [e for e in scan_meta_graph(mg) if e.op == "RestoreV2"]
    assert found and "model's own variables" in found[0].what and found[0].at_load, found


def test_scan_follows_branch_functions() -> None:
    """A WriteFile inside a tf.cond branch (If's then_branch attr) is found, with the branch function named."""
    import tensorflow as tf

    from repair.model.effects import scan_graph_def

    def write():  # type: ignore[no-untyped-def]
        with tf.control_dependencies([tf.io.write_file("/nonexistent/x", "y")]):
            return tf.constant(1.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.bool)])
    def f(flag):  # type: ignore[no-untyped-def]
        return tf.cond(flag, write, lambda: tf.constant(0.0))

    graph_def = f.get_concrete_function().graph.as_graph_def()
    found = [e for e in scan_graph_def(graph_def) if e.op == "WriteFile"]
    assert found and "cond_true" in found[0].function, found


# --- the real entry point -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_refuses(models: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    """repair fix on a model with side effects: exit 1, one line naming the op, its function and the flag, no
    marker, nothing published, input unchanged; the report says why."""
    dest, mark = models
    model, out, report = dest / name, tmp_path / "out", tmp_path / "report"
    _clear(mark)
    digest = tree_digest(model)
    probe = hostile.run("fix", model, "--out", out, "--report", report)
    hostile.assert_clean(probe, code=1, input_path=model, digest=digest, out=out, markers=_markers(mark))
    line = probe.one_line()
    op, where, _ = CASES[name]
    assert op in line and where in line and FLAG in line, line
    assert not out.exists()
    assert json.loads((report / "report.json").read_text())["status"] == "refused"


@pytest.mark.parametrize("name", ["init_copy", "print_file", "tf1_main_op", "frozen_write.pb"])
def test_diagnose_reports(models: tuple[Path, Path], name: str) -> None:
    """repair diagnose: a side-effects finding (error, the op and function named, the flag in the explanation), the
    static findings kept, conversion only when no effect runs at load; no marker."""
    dest, mark = models
    model = dest / name
    _clear(mark)
    digest = tree_digest(model)
    probe = hostile.run("diagnose", model, "--json")
    hostile.assert_clean(probe, code=1, input_path=model, digest=digest, markers=_markers(mark))
    findings = {f["id"]: f for f in json.loads(probe.stdout)["findings"]}
    effect = findings["side-effects"]
    op, where, _ = CASES[name]
    assert effect["severity"] == "error" and not effect["fix"]
    assert op in effect["title"] and where in effect["title"] and FLAG in effect["explanation"], effect
    if name == "print_file":  # the effect is in serving_default only: the converter runs no signature (measured)
        assert "needs-flex-ops" in findings, findings
    if name == "frozen_write.pb":
        assert "frozen-graph" in findings


@pytest.mark.parametrize("name", ["init_copy", "tf1_main_op"])  # diagnose runs these on load / conversion
def test_allow_side_effects_runs_the_payload(models: tuple[Path, Path], name: str) -> None:
    """With --allow-side-effects the graphs run as before: the payload's marker appears (proof the probe is real)."""
    dest, mark = models
    _clear(mark)
    probe = hostile.run("diagnose", dest / name, FLAG, "--json")
    assert probe.exit_code in (0, 1), probe.show()
    assert "side-effects" not in {f["id"] for f in json.loads(probe.stdout)["findings"]}
    assert (mark / CASES[name][2]).exists(), probe.show()  # type: ignore[operator]
    _clear(mark)


def test_fix_allow_runs_print_in_parity(models: tuple[Path, Path], tmp_path: Path) -> None:
    """The issue's probe: tf.print to a file in serving_default ran during fix's parity run. With the flag it does."""
    dest, mark = models
    _clear(mark)
    probe = hostile.run("fix", dest / "print_file", "--out", tmp_path / "out", FLAG)
    assert probe.exit_code in (0, 1, 3), probe.show()
    assert (mark / "print_file.marker").exists(), probe.show()
    _clear(mark)


def test_vocab_asset_is_no_finding(models: tuple[Path, Path], tmp_path: Path) -> None:
    """No false positive: a StaticHashTable initialised from the model's own assets/vocab.txt is diagnosed and
    repaired as before (its loader reads that file; nothing else)."""
    dest, _ = models
    probe = hostile.run("fix", dest / "vocab_asset", "--out", tmp_path / "out")
    assert "side-effects" not in probe.stdout and "refusing" not in probe.stderr, probe.show()
    assert probe.exit_code in (0, 1, 3) and "Traceback" not in probe.stderr and not probe.leftovers, probe.show()
    hostile.assert_out_absent_or_complete(tmp_path / "out")
