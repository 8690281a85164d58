"""Each layer's own int8 quantization error, worst first: what the search keeps float.

The method: TensorFlow's layer-wise NumericVerify (the mechanism under ``tf.lite.experimental.QuantizationDebugger``),
built from the calibrated model we already have. ``mlir_quantize(calibrated, enable_numeric_verify=True)`` emits, for
every quantized op, a float twin that reads the *same* (dequantized) inputs, and a NumericVerify op that takes the
pair. Running that model once per sample with ``experimental_preserve_all_tensors`` lets us read both tensors, so the
error of each layer is measured in isolation: its inputs are exact for it, only its own output quantization differs.
We read the tensors ourselves rather than through the debugger class because the class would calibrate again (0.6 s)
and its default metrics (rmse/scale, mean error) are blind to the failure that matters (below). Propagated error (the
float and the quantized .tflite compared tensor by tensor) was the alternative; it charges every layer with all the
error upstream of it, so the last layers always look worst.

The ranking key is the noise-to-signal ratio per channel (the last axis), averaged over channels:
mean_c min(1, rms(q_c - f_c) / rms(f_c)). A tensor quantized per tensor with one wide-range channel (a few huge
values, or one channel far larger than the others) gets a scale so coarse that its small channels are crushed to a
step or two. Measured on the test model's logits (one channel near -10000, nine within +-30): rmse/scale is 0.13 and
the whole-tensor nsr 0.0016, both the *lowest* of its layers, while the per-channel nsr is 0.90 against 0.006-0.013
for the healthy layers. The ratio is capped at 1 per channel so a near-silent channel cannot outweigh the rest.

Cost: one ``mlir_quantize`` with verification plus one interpreter run per sample without delegates: 0.03 s in all
on the test model (3 layers), 1.15 s on MobileNetV2 (alpha 0.35, 96x96, 65 layers), with 16 samples. It ranks on
at most ``RANK_SAMPLES`` (16) calibration samples: the ranking only has to order layers, and the held-out samples stay
for the budget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from repair.core.tfenv import captured_stderr, tf
from repair.quantize import Feeds, LayerError, QuantFailed, Recipe

RANK_SAMPLES = 16  # calibration samples the ranking runs; enough to order layers whose errors differ by 10x and more


def _op_outputs(blob: bytes) -> dict[str, str]:
    """Output tensor name -> builtin op name, for every op of the model's subgraphs (the names a denylist accepts)."""
    tf()
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    result: dict[str, str] = {}
    for sg in model.subgraphs or []:
        for op in sg.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            for index in op.outputs if op.outputs is not None else []:
                if index >= 0:
                    result[(sg.tensors[index].name or b"").decode()] = name
    return result


def _original(names: list[str], known: dict[str, str]) -> str:
    """The calibrated model's name of a NumericVerify pair.

    The debug model holds the float twin, the quantized op and a DEQUANTIZE where the calibrated model had one op, so
    the quantizer makes their names unique with a digit suffix ("...Relu" becomes "...Relu1", an output
    "StatefulPartitionedCall_1:0" its "...:01" and "...:02"): the layer is the longest calibrated name that one of the
    pair's names extends by digits only.
    """
    matches = [k for n in names for k in known if n == k or (n.startswith(k) and n[len(k):].isdigit())]
    return max(matches, key=len) if matches else names[1]


def _debug_model(calibrated: bytes, recipe: Recipe) -> bytes:
    from tensorflow.lite.python import convert as lite_convert

    with captured_stderr() as err:
        try:
            return bytes(lite_convert.mlir_quantize(
                calibrated, fully_quantize=False, enable_numeric_verify=True,
                denylisted_nodes=list(recipe.float_layers) or None,
            ))
        except Exception as exc:  # the quantizer raises many types; each one is a ranking that could not be built
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise QuantFailed(f"layer ranking failed: {type(exc).__name__}: {first}"[:300],
                              f"{exc}\n{err.text}".strip(), "converter") from exc


def _dequantized(interpreter: Any, index: int) -> np.ndarray:
    detail = interpreter._get_tensor_details(index, 0)  # noqa: SLF001 - the NumericVerify pair is read by index
    value = np.asarray(interpreter.get_tensor(index))
    params = detail["quantization_parameters"]
    if not np.issubdtype(value.dtype, np.integer) or len(params["scales"]) == 0:
        return value.astype(np.float64)
    scales = np.asarray(params["scales"], np.float64)
    zeros = np.asarray(params["zero_points"], np.float64)
    if scales.size > 1:  # per-axis activations do not occur in int8 models; broadcast along the quantized axis anyway
        shape = [1] * value.ndim
        shape[int(params["quantized_dimension"])] = scales.size
        scales, zeros = scales.reshape(shape), zeros.reshape(shape)
    return (value.astype(np.float64) - zeros) * scales


class _Sums:
    """Per-channel sums of squares over samples, and the whole-tensor figures."""

    def __init__(self) -> None:
        self.err2: np.ndarray | None = None
        self.sig2: np.ndarray | None = None
        self.count = 0
        self.max_abs = 0.0

    def add(self, quantized: np.ndarray, exact: np.ndarray) -> None:
        diff = (quantized - exact).reshape(-1, exact.shape[-1] if exact.ndim else 1)
        ref = exact.reshape(diff.shape)
        err2, sig2 = np.sum(np.square(diff), axis=0), np.sum(np.square(ref), axis=0)
        self.err2 = err2 if self.err2 is None else self.err2 + err2
        self.sig2 = sig2 if self.sig2 is None else self.sig2 + sig2
        self.count += diff.shape[0]
        self.max_abs = max(self.max_abs, float(np.max(np.abs(diff))) if diff.size else 0.0)

    def figures(self) -> tuple[float, float, float]:
        """(nsr, rmse, max_abs): nsr is the channel mean of min(1, rms err / rms signal)."""
        if self.err2 is None or self.sig2 is None or self.count == 0:
            return 0.0, 0.0, 0.0
        err2, sig2 = self.err2, self.sig2
        ratio = np.where(sig2 > 0, np.sqrt(err2 / np.where(sig2 > 0, sig2, 1.0)), np.where(err2 > 0, 1.0, 0.0))
        nsr = float(np.mean(np.minimum(ratio, 1.0)))
        rmse = float(np.sqrt(np.sum(err2) / (self.count * err2.size)))
        return nsr, rmse, self.max_abs


def rank(saved_model: Path, calibrated: bytes, recipe: Recipe, samples: tuple[Feeds, ...]) -> tuple[LayerError, ...]:
    """Every quantized layer's own error on (at most ``RANK_SAMPLES`` of) ``samples``, worst first.

    ``calibrated`` is ``convert.calibrate``'s output; layers already in ``recipe.float_layers`` are not ranked.
    ``LayerError.tensor`` is the layer's output tensor name in the calibrated model: the name ``quantize`` takes in
    ``Recipe.float_layers``. ``saved_model`` is not read: the calibrated model carries everything the ranking needs.
    """
    del saved_model  # the signature keeps it so another method (one needing the SavedModel) can replace this one
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    known = _op_outputs(calibrated)
    debug = _debug_model(calibrated, recipe)
    with captured_stderr():
        # No delegate: XNNPACK would fuse the float twins into one node and their tensors would not be preserved.
        interpreter = Interpreter(model_content=debug, experimental_preserve_all_tensors=True,
                                  experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        runner = interpreter.get_signature_runner()
        inputs = runner.get_input_details()
        ops = interpreter._get_ops_details()  # noqa: SLF001 - the only API listing ops with their tensor indices
        pairs: list[tuple[str, int, int]] = []  # (layer name, quantized tensor, float tensor)
        for op in ops:
            if op["op_name"] != "NumericVerify":
                continue
            q_index, f_index = (int(i) for i in op["inputs"][:2])
            names = [interpreter._get_tensor_details(i, 0)["name"] for i in (q_index, f_index)]  # noqa: SLF001
            layer = _original(names, known)
            pairs.append((layer, q_index, f_index))
        sums = {layer: _Sums() for layer, _, _ in pairs}
        for sample in samples[:RANK_SAMPLES]:
            runner(**{name: np.asarray(sample[name]).astype(inputs[name]["dtype"], copy=False) for name in inputs})
            for layer, q_index, f_index in pairs:
                sums[layer].add(_dequantized(interpreter, q_index), _dequantized(interpreter, f_index))
    errors = []
    for layer, _, _ in pairs:
        nsr, rmse, max_abs = sums[layer].figures()
        errors.append(LayerError(layer, known.get(layer, "?"), nsr, rmse, max_abs))
    errors.sort(key=lambda e: (-e.nsr, -e.rmse, e.tensor))
    return tuple(errors)


__all__ = ["RANK_SAMPLES", "rank"]
