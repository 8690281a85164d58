"""The model catalog: one rewrite per file. The order of CATALOG is the order fixes are applied in."""

from __future__ import annotations

from repair.fix.rewrite import Rewrite
from rewrites.add_serving_default import AddServingDefault
from rewrites.build_tf1_signature import BuildTf1Signature
from rewrites.bypass_example_parsing import BypassExampleParsing
from rewrites.compute_in_float32 import ComputeInFloat32
from rewrites.export_keras_file import ExportKerasFile
from rewrites.lower_op_versions import LowerOpVersions
from rewrites.pin_dynamic_dims import PinDynamicDims
from rewrites.rebind_variables import RebindVariables
from rewrites.rename_serving_keys import RenameServingKeys
from rewrites.retag_serve import RetagServe
from rewrites.strip_pruning_graph import StripPruningGraph
from rewrites.strip_pruning_keras_file import StripPruningKerasFile
from rewrites.strip_pruning_wrappers import StripPruningWrappers
from rewrites.substitute_flex_ops import SubstituteFlexOps
from rewrites.substitute_target_ops import SubstituteTargetOps
from rewrites.unroll_keras_rnn import UnrollKerasRnn
from rewrites.unroll_static_loops import UnrollStaticLoops
from rewrites.wrap_frozen_graph import WrapFrozenGraph
from rewrites.wrap_traced_function import WrapTracedFunction

# Artifact first (a file becomes a SavedModel, the tag set becomes loadable), then what creates the
# serving entry, then rebuilds that replace the model (pruning), then pins (graph surgery below freezes
# the pinned shapes, so a loop over a pinned time axis has a static trip count), then graph surgery,
# then re-saving, and the keys last.
CATALOG: tuple[Rewrite, ...] = (
    StripPruningKerasFile(),  # before export_keras_file: a pruned .h5 does not load without tfmot
    ExportKerasFile(),
    WrapFrozenGraph(),
    RetagServe(),
    BuildTf1Signature(),
    WrapTracedFunction(),
    AddServingDefault(),
    BypassExampleParsing(),
    StripPruningWrappers(),
    StripPruningGraph(),
    UnrollKerasRnn(),  # a rebuild from the Keras configs, before pins: with --pin it applies the pin in the Input
    PinDynamicDims(),
    ComputeInFloat32(),
    SubstituteFlexOps(),
    SubstituteTargetOps(),  # after the Flex substitutions: the model converts before a target is checked
    LowerOpVersions(),  # after the substitutions: the versions of the ops the model will keep
    UnrollStaticLoops(),
    RebindVariables(),
    RenameServingKeys(),
)

BY_ID: dict[str, Rewrite] = {r.id: r for r in CATALOG}


__all__ = ["BY_ID", "CATALOG"]
