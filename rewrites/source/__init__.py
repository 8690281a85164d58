"""The source catalog: the source form of each fix, one rewrite per file. The order of SOURCE_CATALOG is
the order rewrites run in; nothing here imports TensorFlow."""

from __future__ import annotations

from repair.source.rewrite import SourceRewrite
from rewrites.source.add_input_signature import AddInputSignature
from rewrites.source.expand_dims_not_newaxis import ExpandDimsNotNewaxis
from rewrites.source.explicit_float32 import ExplicitFloat32
from rewrites.source.export_keras_model import ExportKerasModel
from rewrites.source.export_with_signature import ExportWithSignature
from rewrites.source.migrate_to_litert import MigrateToLitert
from rewrites.source.pin_none_dims import PinNoneDims
from rewrites.source.rename_serving_keys_source import RenameServingKeysSource
from rewrites.source.strip_pruning_before_export import StripPruningBeforeExport
from rewrites.source.swap_tnp_calls import SwapTnpCalls
from rewrites.source.unroll_rnn_layers import UnrollRnnLayers
from rewrites.source.unroll_tensor_array_loop import UnrollTensorArrayLoop
from rewrites.source.unroll_tf_range_loop import UnrollTfRangeLoop
from rewrites.source.unroll_while_loop import UnrollWhileLoop
from rewrites.source.warn_py_function import WarnPyFunction

SOURCE_CATALOG: tuple[SourceRewrite, ...] = (
    SwapTnpCalls(),
    ExpandDimsNotNewaxis(),
    ExplicitFloat32(),
    UnrollWhileLoop(),
    UnrollTfRangeLoop(),
    UnrollTensorArrayLoop(),
    UnrollRnnLayers(),
    ExportKerasModel(),
    ExportWithSignature(),
    AddInputSignature(),
    PinNoneDims(),
    StripPruningBeforeExport(),
    RenameServingKeysSource(),
    MigrateToLitert(),
    WarnPyFunction(),
)

SOURCE_BY_ID: dict[str, SourceRewrite] = {r.id: r for r in SOURCE_CATALOG}

__all__ = ["SOURCE_BY_ID", "SOURCE_CATALOG"]
