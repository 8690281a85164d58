"""The representative data of a quantization: a user's ``--calibration`` .npz, or generated samples.

A calibration file holds one array per serving input, keyed by any name ``--sample`` accepts for it (the serving key,
the original key, the ``--rename``/``--input-keys`` name), with N samples along axis 0. Each sample is fed as a batch
of one. The file is split: its last samples are held out (the budget is measured on them, calibration never sees
them), the rest calibrate. ``--sample`` rows, when given, replace the held-out set.

Wrong dtypes are the common failure here. TensorFlow refuses them inside the converter, after the float conversion,
with the interpreter's words (measured, TF 2.21, representative dataset fed as is):
``ValueError: Cannot set tensor: Got value of type FLOAT32 but expected type INT32 for input 0, name:
serving_default_keras_tensor:0`` (int ids saved as float); the same with ``UINT8 but expected type FLOAT32`` (images
saved as uint8 for a float input) and ``FLOAT64 but expected type FLOAT32`` (NumPy's default float). So the data is
cast here, before anything converts, when the cast loses nothing: floats that are all integers in range into an
integer input, integers that the float type holds exactly into a float input, float64 into float32 (precision
only: float32 is what the model computes in). Each cast is recorded in ``Calibration.notes``; anything else is
BadInput (exit 2) naming the input, both dtypes and why.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from repair.core.errors import BadInput
from repair.core.options import Options
from repair.model.parity import arrays_by_input, check_sample, generate, load_sample
from repair.model.working import Port, merged_pin
from repair.quantize import Calibration, Feeds

FLAG = "--calibration"


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _port_shape(port: Port, options: Options, index: int, count: int) -> tuple[int | None, ...] | None:
    """The input's shape after any ``--pin`` the user gave it."""
    pin = options.pin_for(port.name, port.origin, index, count)
    return merged_pin(port, pin) if pin is not None else port.shape


def _cast(value: np.ndarray, want: str, where: str) -> tuple[np.ndarray, str]:
    """``value`` in the input's dtype ``want``, and a note when it had to be cast; BadInput when a cast would lose.

    ``where`` names the input and the array for the messages: ``input 'ids' (array 'ids')``.
    """
    have = value.dtype
    if want == "string":
        if have.kind in "SU":
            return value, ""
        raise BadInput(f"{where} is a string input, the array is {have} (a string input needs a string array)")
    if want == "bool":
        if have.kind == "b":
            return value, ""
        raise BadInput(f"{where} is bool, the array is {have} (a bool input needs a bool array)")
    try:
        target = np.dtype(want)
    except TypeError:
        raise BadInput(f"{where} is {want}, which calibration data cannot feed (no NumPy dtype)") from None
    if have == target:
        return value, ""
    if have.kind not in "biuf":
        raise BadInput(f"{where} is {want}, the array is {have} (not a number)")
    size = value.size
    if target.kind in "iu":
        if have.kind == "f":
            finite = bool(np.all(np.isfinite(value)))
            if not finite or not bool(np.all(np.floor(value) == value)):
                with np.errstate(invalid="ignore"):
                    bad = ~np.isfinite(value) | (np.floor(value) != value)
                raise BadInput(f"{where} is {want}, the array is {have} with non-integral values "
                               f"(e.g. {_example(value, bad)}); ids must be whole numbers: save them as {want}")
        info = np.iinfo(target)
        low, high = (value.min(), value.max()) if size else (0, 0)
        if size and (low < info.min or high > info.max):
            raise BadInput(f"{where} is {want}, the array is {have} with values in [{low}, {high}], "
                           f"outside {want}'s range [{info.min}, {info.max}]")
        why = "integral" if have.kind == "f" else f"within {want}'s range"
        return value.astype(target), f"{have} array cast to {want} (all {size} values {why})"
    if target.kind == "f":
        if have.kind == "f":
            if target.itemsize < have.itemsize:
                return value.astype(target), f"{have} array cast to {want} (rounded to {want} precision)"
            return value.astype(target), f"{have} array cast to {want} (exact)"
        cast = value.astype(target)
        bad = cast.astype(have) != value
        if bool(np.any(bad)):
            raise BadInput(f"{where} is {want}, the array is {have} with values {want} cannot hold exactly "
                           f"(e.g. {_example(value, bad)}); scale them to floats before saving")
        return cast, f"{have} array cast to {want} (all {size} values exact)"
    raise BadInput(f"{where} is {want}, the array is {have} (values would change kind)")


def _example(value: np.ndarray, bad: np.ndarray) -> str:
    """The first value the cast would change, for the message."""
    hits = value[bad]
    return repr(hits.reshape(-1)[0].item()) if hits.size else "?"


def _samples(arrays: dict[str, np.ndarray], start: int, stop: int) -> tuple[Feeds, ...]:
    """Rows ``start..stop`` of each input's array, one batch-of-one sample per row."""
    return tuple({name: arrays[name][i:i + 1] for name in arrays} for i in range(start, stop))


def _batch_problem(shape: tuple[int | None, ...] | None) -> str:
    """Why samples of batch 1 cannot feed an input of this shape, or ''."""
    if shape is None or not shape:
        return "has no batch dimension to stack samples along" if shape is not None else ""
    return "" if shape[0] in (None, 1) else f"has a fixed batch of {shape[0]}; calibration feeds one sample at a time"


def _load(path: Path, ports: tuple[Port, ...], options: Options, flag: str) -> tuple[dict[str, np.ndarray], tuple[str, ...], int]:
    """The file's arrays keyed by serving input name, in the inputs' dtypes, the casts made, and the sample count.

    Validated like ``--sample`` (``check_sample``'s keys, aliases, unknown arrays), except that axis 0 is the samples'
    axis (any length) and lossless dtype casts are made, not refused.
    """
    count = len(ports)
    arrays: dict[str, np.ndarray] = {}
    notes: list[str] = []
    rows: dict[str, int] = {}
    for i, port, key, value in arrays_by_input(path, ports, options, flag):
        shape = _port_shape(port, options, i, count)
        problem = _batch_problem(shape)
        if problem:
            raise BadInput(f"{flag} {path}: input '{port.name}' {_shape_text(shape or ())} {problem}")
        if shape is not None and (value.ndim != len(shape)
                                  or any(d is not None and d != v for d, v in zip(shape[1:], value.shape[1:]))):
            raise BadInput(f"{flag} {path}: input '{port.name}' takes samples of shape {_shape_text(shape)} stacked "
                           f"along axis 0 ({_shape_text((None, *shape[1:]))}), the array '{key}' has shape "
                           f"{_shape_text(value.shape)}")
        where = f"{flag} {path}: input '{port.name}'" + (f" (array '{key}')" if key != port.name else "")
        cast, note = _cast(value, port.dtype, where)
        if note:
            notes.append(f"input '{port.name}': {note}")
        arrays[port.name] = cast
        rows[port.name] = int(value.shape[0]) if value.ndim else 1
    if len(set(rows.values())) > 1:
        counts = ", ".join(f"'{n}' {r}" for n, r in rows.items())
        raise BadInput(f"{flag} {path}: the arrays hold different numbers of samples along axis 0 ({counts}); "
                       "each row is one sample of every input")
    return arrays, tuple(notes), next(iter(rows.values()), 0)


def from_file(path: Path, ports: tuple[Port, ...], options: Options, held_out: int) -> Calibration:
    """The user's calibration .npz (N samples along axis 0), split into calibration and held-out samples.

    The last ``max(1, N // 4)`` samples are held out, at most ``held_out`` of them (``held_out`` <= 0: no cap); the
    rest calibrate. Fewer than 2 samples, or any key, shape or dtype that cannot feed the inputs: BadInput (exit 2).
    """
    arrays, notes, n = _load(path, ports, options, FLAG)
    if n < 2:
        raise BadInput(f"{FLAG} {path}: holds {n} sample{'' if n == 1 else 's'}; give at least 2 along axis 0 "
                       "(some calibrate, the rest measure the budget), a few hundred for a trustworthy calibration")
    keep = max(1, n // 4)
    if held_out > 0:
        keep = min(keep, held_out)
    cal = _samples(arrays, 0, n - keep)
    hold = _samples(arrays, n - keep, n)
    source = f"{path.name} ({n} samples: {n - keep} calibration, {keep} held out)"
    return Calibration(cal, hold, source, False, notes)


def _generated_ports(ports: tuple[Port, ...], options: Options) -> tuple[Port, ...]:
    """The inputs with their pins applied and the batch dim unknown, so one generated batch holds every sample."""
    out = []
    for i, port in enumerate(ports):
        shape = _port_shape(port, options, i, len(ports))
        problem = _batch_problem(shape)
        if problem:
            raise BadInput(f"input '{port.name}' {_shape_text(shape or ())} {problem}")
        out.append(dataclasses.replace(port, shape=(None, *shape[1:]) if shape is not None else None))
    return tuple(out)


def _split_rows(feeds: Feeds, count: int) -> tuple[Feeds, ...]:
    return _samples(feeds, 0, count)


def generated(ports: tuple[Port, ...], options: Options, count: int, held_out: int,
              int_high: dict[str, int] | None = None) -> Calibration:
    """``count`` generated calibration samples (seed ``options.seed``) and ``held_out`` held-out samples (seed + 1).

    Values as parity's generator makes them: standard-normal floats, integers in [0, 100) or in [0, ``int_high``[name])
    when parity learned the model's bound, bools False, strings from the model's vocabulary. Such data proves the
    quantization's mechanics work, not its accuracy on real inputs; ``generated=True`` says so to the report.
    """
    if count < 1 or held_out < 1:
        raise BadInput(f"generated calibration needs at least 1 calibration and 1 held-out sample ({count}, {held_out} asked)")
    shaped = _generated_ports(ports, options)
    cal = _split_rows(generate(shaped, options.seed, batch=count, int_high=int_high), count)
    hold = _split_rows(generate(shaped, options.seed + 1, batch=held_out, int_high=int_high), held_out)
    source = (f"generated (seed {options.seed}: {count} calibration samples; seed {options.seed + 1}: "
              f"{held_out} held out)")
    ints = [f"'{p.name}' in [0, {(int_high or {}).get(p.name, 100)})" for p in ports
            if p.dtype.startswith(("int", "uint"))]
    if ints:  # a 0/1 mask or a small vocabulary is not what these are: the budget then says nothing about real inputs
        source += "; integer inputs drawn uniformly: " + ", ".join(ints)
    return Calibration(cal, hold, source, True)


def held_out_from_sample(cal: Calibration, path: Path, ports: tuple[Port, ...], options: Options) -> Calibration:
    """``cal`` with its held-out set replaced by the rows of the ``--sample`` file (real inputs, one sample per row).

    The file is checked as ``--sample`` always is (``check_sample``); its rows are split into batch-of-one samples.
    """
    check_sample(path, ports, options)
    feeds = load_sample(path, ports)
    rows = {int(v.shape[0]) if v.ndim else 1 for v in feeds.values()}
    if len(rows) != 1 or 0 in rows:
        raise BadInput(f"--sample {path}: the arrays must hold the same number (> 0) of rows along axis 0 to be "
                       "the held-out samples of --quantize")
    n = rows.pop()
    hold = _samples(feeds, 0, n)
    return dataclasses.replace(cal, held_out=hold, source=f"{cal.source}; held out: {path.name} ({n} samples, --sample)")


__all__ = ["from_file", "generated", "held_out_from_sample"]
