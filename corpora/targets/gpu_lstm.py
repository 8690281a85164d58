"""A Keras LSTM sequence classifier at batch 1: the GPU delegate refuses its loop, its unstack and its last-step slice.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/56482 ("[RNN] LSTM after conversion to TFLite not run on
GPU": a ``Sequential`` LSTM/GRU model converted to TFLite runs only partly on the GPU delegate, the user naming the
UNPACK and RESHAPE nodes) and its sibling https://github.com/tensorflow/tensorflow/issues/56301 (the same model's
profile: ``sequential/lstm/unstack`` UNPACK nodes left on the CPU). Here, as the user builds it: a Keras 3
``Sequential`` of ``Input(shape=(20, 8), batch_size=1)`` -> ``LSTM(32)`` -> ``Dense(10)``, exported with
``model.export(dir, input_signature=...)`` at batch 1 (static shapes, which the delegate needs). It converts
builtins-only with a WHILE loop; the GPU delegate's rules refuse the WHILE ("Not supported op WHILE"), the
GATHER of its TensorList read ("Only support 1D indices.") and the ``outputs[-1]`` STRIDED_SLICE ("Slice does not
support shrink_axis_mask parameter."). Repair unrolls the loop (its TensorList reads become one Unpack of the
time-major input), then replaces the UNPACK, which the delegate lacks, by SPLIT + RESHAPE and the slice by a
slice keeping the axis + RESHAPE: every node then passes the GPU rules.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    model = keras.Sequential([
        keras.Input(shape=(20, 8), batch_size=1, name="series"),
        keras.layers.LSTM(32),
        keras.layers.Dense(10, name="logits"),
    ])
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False, input_signature=[keras.InputSpec(shape=(1, 20, 8), dtype="float32")])
    return out


CASE = Case(
    id="targets/gpu_lstm",
    summary="Keras 3 Sequential LSTM(32) -> Dense at batch 1: the GPU delegate refuses WHILE, GATHER, UNPACK, the slice",
    build=build,
    expect=Expect(
        findings=frozenset({"gpu-incompatible"}),
        fix_exit=0,
        rewrites=("unroll_static_loops", "substitute_target_ops"),
        absent_ops=frozenset({"WHILE", "UNPACK"}),
        diagnose_args=("--target", "gpu"),
        fix_args=("--target", "gpu"),
        note="GPU rules: the LSTM's WHILE (unrolled), then UNPACK (-> SPLIT + RESHAPE) and the last step's "
        "shrink_axis_mask STRIDED_SLICE (-> slice + RESHAPE)",
    ),
)
