"""An int8 budget no quantized model can meet: ``--budget max_abs=0`` asks for the float outputs bit for bit.

From https://github.com/tensorflow/tensorflow/issues/58206 ("Tensorflow Lite conversion output vs. Tensorflow output":
the user expected the int8 model's outputs to equal TensorFlow's) and https://github.com/tensorflow/tensorflow/issues/53278
("inaccurate tflite model": full-integer outputs that differ from the .h5 model's). An int8 tensor holds 256 levels, so
quantized outputs differ from the float ones; and a model with every layer kept float still runs TFLite's float kernels,
whose sums are not TensorFlow's bit for bit. Here: the guide's MNIST classifier of ``int8_within_budget`` (the same build)
with ``--budget max_abs=0``: ``repair fix`` refuses (exit 1) with the best figures it reached and publishes nothing.
"""

from __future__ import annotations

from pathlib import Path

from corpora.case import Case, Expect
from corpora.quantize.int8_within_budget import build_mnist_guide


def build(dest: Path) -> Path:
    return build_mnist_guide(dest)


_ARGS = ("--quantize", "int8", "--calibration", "{case_dir}/calibration.npz", "--budget", "max_abs=0")

CASE = Case(
    id="quantize/impossible_budget",
    summary="the MNIST guide's classifier with --budget max_abs=0: no int8 model meets it, fix refuses (exit 1)",
    build=build,
    expect=Expect(
        findings=frozenset({"quant-over-budget"}),
        fix_exit=1,
        absent=frozenset({"quant-failed", "calibration-dtype"}),
        diagnose_args=_ARGS,
        fix_args=_ARGS,
        note="refused: even with every layer float the outputs are not bit-identical to TensorFlow's",
    ),
)
