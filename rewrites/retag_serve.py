"""retag_serve: give the serving meta graph the tag set {'serve'}."""

from __future__ import annotations

import shutil
from pathlib import Path

from repair.core.findings import Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options
from repair.core.tfenv import tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.model.artifact import SERVE, read_saved_model
from repair.model.working import WorkingModel, entry_from_signature


class RetagServe(Rewrite):
    """Retag the serving meta graph as exactly {'serve'}.

    What it fixes:
        A SavedModel whose meta graph is tagged 'train', a custom tag, or {'serve', 'gpu'}.
    Why it fails:
        TFLiteConverter.from_saved_model, TF Serving and saved_model_cli look for a meta graph whose tag
        set is exactly {'serve'}; containing 'serve' is not enough (docs/facts.md 1a-1c):
        "MetaGraphDef associated with tags {'serve'} could not be found in SavedModel".
    Safety:
        safe. The graph, signatures and variables are copied unchanged; only the tag set in
        saved_model.pb is rewritten and other meta graphs are dropped. Nothing is executed.
    References:
        docs/facts.md section 1 (verified, diff 2.4e-7).
    """

    id = "retag_serve"
    title = "retag the serving meta graph as {'serve'}"
    answers = frozenset({FindingKind.TAG_SET_NOT_SERVE})
    safety = Safety.SAFE
    cases = ("tags/train_tag", "tags/custom_tag", "tags/multi_metagraph", "tags/serve_gpu")

    def detect(self, model: WorkingModel, options: Options) -> list[Finding]:
        info = model.info
        if info is None or info.serve_graph() is not None:
            return []
        tag_sets = ", ".join(mg.tag_text for mg in info.meta_graphs)
        return [worded(FindingKind.TAG_SET_NOT_SERVE, Severity.ERROR, Source.STATIC, tag_sets=tag_sets,
                       evidence=f"available tag sets: {tag_sets}", subject=tag_sets)]

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        return None if model.info is not None else "not a SavedModel"

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.info is not None
        tf()
        from tensorflow.core.protobuf import saved_model_pb2

        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((model.path / "saved_model.pb").read_bytes())
        chosen = model.info.best_graph()
        keep = [mg for mg in proto.meta_graphs if frozenset(mg.meta_info_def.tags) == chosen.tags]
        if not keep:
            raise RewriteFailed(f"no meta graph with tags {chosen.tag_text}")
        graph = keep[0]
        del graph.meta_info_def.tags[:]
        graph.meta_info_def.tags.append(SERVE)
        del proto.meta_graphs[:]
        proto.meta_graphs.append(graph)
        (scratch / "saved_model.pb").write_bytes(proto.SerializeToString())
        for sub in ("variables", "assets", "assets.extra"):
            if (model.path / sub).is_dir():
                shutil.copytree(model.path / sub, scratch / sub)
        for extra in ("keras_metadata.pb",):  # fingerprint.pb hashes the old saved_model.pb: not copied
            if (model.path / extra).is_file():
                shutil.copy2(model.path / extra, scratch / extra)
        info = read_saved_model(scratch)
        graph_info = info.serve_graph()
        assert graph_info is not None
        entry = model.entry
        if entry is not None and entry.ref in graph_info.signatures and not model.reexport:
            entry = entry_from_signature(graph_info.signatures[entry.ref])
        dropped = len(model.info.meta_graphs) - 1
        note = f"; dropped {dropped} other meta graph(s)" if dropped else ""
        summary = f"tags {chosen.tag_text} -> {{'serve'}}{note}"
        return Applied(WorkingModel(scratch, frozenset({SERVE}), info, entry, model.reexport), summary)
