"""Numeric parity: the repaired model's TFLite outputs against the original's, on the same inputs.

Inputs are seeded and generated from each port's dtype and shape, unless the user gives a sample
file. Bool inputs are almost always training or debug switches, so they are fed False (inference).
String inputs are drawn from the model's own string constants and vocabulary assets (plus one
out-of-vocabulary word), so lookups are exercised, not just their default. Integer inputs are usually ids: they
start in [0, 100) and, when the model rejects them with
TensorFlow's own range error ("indices[..] = 517 is not in [0, 100)"), are regenerated inside the
bound the error names. Unknown dims get ``batch`` (dim 0) or ``other_dim`` (the rest): pinned
shapes are used as they are.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repair.core.errors import BadInput
from repair.core.options import Options, Tolerance
from repair.model.working import Port, merged_pin

Feeds = dict[str, np.ndarray]
_RANGE_ERROR = re.compile(r"is not in \[0, (\d+)\)")


@dataclass(frozen=True)
class OutputParity:
    name: str
    origin: str
    shape: tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float
    ok: bool
    # |diff| at p50, p90, p99 and max (finite, float outputs only): the distribution a report plots against atol
    abs_diff_quantiles: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Parity:
    """Per-output comparison of a candidate against a reference."""

    outputs: tuple[OutputParity, ...]
    tolerance: Tolerance
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.outputs) and all(o.ok for o in self.outputs)

    @property
    def worst(self) -> float:
        return max((o.max_abs_diff for o in self.outputs), default=float("nan"))


def concrete_shape(port: Port, batch: int, other_dim: int) -> tuple[int, ...]:
    if port.shape is None:
        raise BadInput(f"input '{port.name}' has unknown rank; give a shape with --pin {port.name}=... or --sample")
    return tuple((batch if i == 0 else other_dim) if d is None else d for i, d in enumerate(port.shape))


OOV_WORD = b"[repair-oov]"


class GeneratedFeeds(dict[str, np.ndarray]):
    """Feeds made by ``generate``: a plain dict of arrays that also remembers how each input was drawn, so the
    report can say what parity covered (the seed, the rule, an integer input's bound) rather than guess it."""

    def __init__(self, seed: int, rules: dict[str, str]) -> None:
        super().__init__()
        self.seed = seed
        self.rules = rules  # input name -> how its values were drawn, in words


def generate(ports: tuple[Port, ...], seed: int, batch: int = 2, other_dim: int = 16, int_high: dict[str, int] | None = None,
             strings: tuple[bytes, ...] = ()) -> Feeds:
    """Seeded inputs valid for each port's dtype and shape (a ``GeneratedFeeds``: it says how each was drawn)."""
    rng = np.random.default_rng(seed)
    int_high = int_high or {}
    pool = np.array([*strings, OOV_WORD], dtype=object)
    feeds = GeneratedFeeds(seed, {})
    for port in ports:
        shape = concrete_shape(port, batch, other_dim)
        dt = np.dtype(port.dtype) if port.dtype not in ("string", "bool") else None
        if port.dtype == "bool":
            feeds[port.name] = np.zeros(shape, dtype=bool)
            feeds.rules[port.name] = "all False (bool inputs are training/debug switches: inference)"
        elif port.dtype == "string":
            feeds[port.name] = rng.choice(pool, size=shape)
            feeds.rules[port.name] = (f"strings drawn from the model's {len(strings)} string constant(s) and vocabulary "
                                      "plus one out-of-vocabulary word")
        elif dt is not None and np.issubdtype(dt, np.integer):
            high = int_high.get(port.name, 100)
            feeds[port.name] = rng.integers(0, high, size=shape).astype(dt)
            learned = " (the bound the model's own range error named)" if port.name in int_high else ""
            feeds.rules[port.name] = f"uniform integers in [0, {high}){learned}"
        else:
            feeds[port.name] = rng.standard_normal(size=shape).astype(dt if dt is not None else np.float32)
            feeds.rules[port.name] = "standard normal"
    return feeds


def describe_inputs(feeds: Feeds | None, sample: Path | None, batch: int, other_dim: int = 16) -> dict[str, object]:
    """What parity fed the models, as facts for both reports: one batch, where it came from (``--sample`` file or
    generated from a seed), and per input its dtype, shape, the rule it was drawn by and the range of the values
    actually fed (read from the arrays themselves)."""
    if feeds is None:
        return {}
    generated = isinstance(feeds, GeneratedFeeds)
    inputs = []
    for name, value in feeds.items():
        arr = np.asarray(value)
        row: dict[str, object] = {"name": name, "dtype": str(arr.dtype) if arr.dtype.kind not in "OSU" else "string",
                                  "shape": list(arr.shape)}
        if isinstance(feeds, GeneratedFeeds):
            row["drawn"] = feeds.rules.get(name, "")
        elif sample is not None:
            row["drawn"] = f"from {sample.name}"
        if arr.size and arr.dtype.kind in "biuf":
            row["min"], row["max"] = _plain(arr.min()), _plain(arr.max())
        elif arr.size and arr.dtype.kind in "OSU":
            row["distinct"] = len({bytes(v) if isinstance(v, bytes) else str(v).encode() for v in arr.ravel()})
        inputs.append(row)
    leading = {int(np.asarray(v).shape[0]) for v in feeds.values() if np.asarray(v).ndim}
    return {
        "batches": 1,
        "batch_size": leading.pop() if len(leading) == 1 else None,
        "source": "generated" if generated else "sample",
        "seed": feeds.seed if isinstance(feeds, GeneratedFeeds) else None,
        "sample_file": str(sample) if sample is not None and not generated else None,
        "unknown_dims": (f"the batch dim set to {batch}, other unknown dims to {other_dim}; pinned dims as pinned"
                         if generated else "as the sample's arrays"),
        "inputs": inputs,
    }


def _plain(value: object) -> bool | int | float:
    """A NumPy scalar as the JSON number (or bool) it is."""
    item = value.item() if isinstance(value, np.generic) else value
    assert isinstance(item, (bool, int, float))
    return item


def generate_valid(
    ports: tuple[Port, ...],
    run: Callable[[Feeds], Feeds],
    seed: int,
    batch: int = 2,
    other_dim: int = 16,
    strings: tuple[bytes, ...] = (),
) -> tuple[Feeds, Feeds]:
    """Generate inputs and run the reference on them, narrowing integer ranges the model rejects."""
    int_high: dict[str, int] = {}
    for _ in range(4):
        feeds = generate(ports, seed, batch, other_dim, int_high, strings)
        try:
            return feeds, run(feeds)
        except Exception as exc:  # TF raises InvalidArgumentError and friends; learn the bound or re-raise
            match = _RANGE_ERROR.search(str(exc))
            int_ports = [p.name for p in ports if p.dtype.startswith(("int", "uint"))]
            if not match or not int_ports:
                raise
            bound = int(match.group(1))
            if all(int_high.get(n) == bound for n in int_ports):
                raise
            int_high.update({n: bound for n in int_ports})
    raise RuntimeError("could not find valid integer inputs")


NPZ_MAGIC = b"PK\x03\x04"  # an .npz is a zip of .npy files
NPY_MAGIC = b"\x93NUMPY"


def read_sample(path: Path, flag: str = "--sample") -> dict[str, np.ndarray]:
    """The arrays of a ``--sample`` file (or of the file of ``flag``), or BadInput naming what is wrong with the file.

    Never unpickles: ``np.load`` runs with ``allow_pickle=False``, so an object array (whose bytes are a pickle
    that would run code when loaded) is refused by name, not loaded.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(len(NPY_MAGIC))
    except OSError as exc:
        raise BadInput(f"{flag} {path}: cannot be read ({exc.strerror or exc})") from None
    if not head.startswith(NPZ_MAGIC):
        what = "a single .npy array" if head.startswith(NPY_MAGIC) else "not a zip of .npy arrays"
        raise BadInput(f"{flag} {path}: not an .npz file ({what}); write one with numpy.savez(FILE, NAME=array, ...), "
                       "one array per input")
    data: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    data[key] = npz[key]
                except ValueError as exc:
                    if "allow_pickle" not in str(exc):
                        raise
                    raise BadInput(f"{flag} {path}: the array '{key}' holds pickled Python objects (dtype object), "
                                   "which repair never loads (unpickling runs code); save numeric or string arrays") from None
    except BadInput:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise BadInput(f"{flag} {path}: not a readable .npz file ({type(exc).__name__}: {first})") from None
    if not data:
        raise BadInput(f"{flag} {path}: holds no arrays; write one per input with numpy.savez(FILE, NAME=array, ...)")
    return data


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def check_sample(path: Path, ports: tuple[Port, ...], options: Options, flag: str = "--sample") -> None:
    """Refuse a ``--sample`` that cannot feed these inputs (BadInput: exit 2), before anything is converted or run.

    Each input needs one array, under any key the user may call it by (``Options.input_aliases``); every array
    must name an input; its rank and known (or ``--pin``ned) dims must match; its dtype must be castable to the
    input's without changing kind (strings for a string input, no floats truncated into an integer one).
    """
    for i, port, key, value in arrays_by_input(path, ports, options, flag):
        pin = options.pin_for(port.name, port.origin, i, len(ports))
        shape = merged_pin(port, pin) if pin is not None else port.shape
        if shape is not None and (value.ndim != len(shape) or any(d is not None and d != v for d, v in zip(shape, value.shape))):
            raise BadInput(f"{flag} {path}: input '{port.name}' takes shape {_shape_text(shape)}, the array '{key}' "
                           f"has shape {_shape_text(value.shape)}")
        problem = _dtype_problem(port.dtype, value.dtype)
        if problem:
            raise BadInput(f"{flag} {path}: input '{port.name}' is {port.dtype}, "
                           f"the array '{key}' is {value.dtype} ({problem})")


def arrays_by_input(path: Path, ports: tuple[Port, ...], options: Options,
                    flag: str = "--sample") -> list[tuple[int, Port, str, np.ndarray]]:
    """(index, input, the file's key, its array) for every input, matched under any key the user may call it by
    (``Options.input_aliases``); BadInput (exit 2) naming ``flag`` when an input has no array or an array names no
    input. Shapes and dtypes are the caller's to check (``--sample`` takes a batch, ``--calibration`` samples)."""
    data = read_sample(path, flag)
    aliases = [options.input_aliases(p.name, p.origin, i, len(ports)) for i, p in enumerate(ports)]
    known = {a for names in aliases for a in names}
    unknown = sorted(k for k in data if k not in known)
    inputs = ", ".join(p.name for p in ports) or "none"
    found = []
    for i, port in enumerate(ports):
        key = next((a for a in aliases[i] if a in data), None)
        if key is None:
            hint = f"; the file has {', '.join(repr(k) for k in unknown)}, which names no input" if unknown else ""
            raise BadInput(f"{flag} {path}: no array for input '{port.name}' (inputs: {inputs}){hint}")
        found.append((i, port, key, data[key]))
    if unknown:
        raise BadInput(f"{flag} {path}: {', '.join(repr(k) for k in unknown)} names no input (inputs: {inputs}); "
                       "remove it, or name the arrays after the inputs")
    return found


def _dtype_problem(want: str, have: np.dtype) -> str:
    """Why an array of dtype ``have`` cannot feed an input of dtype ``want`` (a TF dtype name), or ''."""
    if want == "string":
        return "" if have.kind in "SU" else "a string input needs a string array"
    if have.kind not in "biuf":
        return "not a number"
    try:
        target = np.dtype(want)
    except TypeError:
        return ""  # a TF dtype NumPy does not name (bfloat16, qint8): TensorFlow checks it when fed
    if target.kind == "b":
        return "" if have.kind == "b" else "a bool input needs a bool array"
    return "" if np.can_cast(have, target, "same_kind") else f"values would change kind casting to {want}"


def load_sample(path: Path, ports: tuple[Port, ...]) -> Feeds:
    """A user sample: .npz keyed by input name (the serving key or the original key). ``check_sample`` has
    already refused a file that cannot feed the model, at the start of the run."""
    data = read_sample(path)
    feeds: Feeds = {}
    for port in ports:
        value = data.get(port.name, data.get(port.origin))
        if value is None:
            raise BadInput(f"--sample {path}: no array for input '{port.name}' (has: {', '.join(sorted(data)) or 'nothing'})")
        feeds[port.name] = value.astype(np.dtype(port.dtype)) if port.dtype not in ("string",) else value
    return feeds


def same_outputs(a: Feeds, b: Feeds) -> bool:
    """Whether two runs on the same inputs gave the same outputs (NaN equal to NaN)."""
    for key, value in a.items():
        x, y = np.asarray(value), np.asarray(b[key])
        if x.shape != y.shape:
            return False
        if x.dtype.kind in "fc":
            if not np.allclose(x, y, rtol=1e-6, atol=1e-7, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def compare(reference: Feeds, candidate: Feeds, outputs: tuple[Port, ...], tolerance: Tolerance,
            input_shapes: dict[str, tuple[int, ...]] | None = None) -> Parity:
    """Compare candidate outputs (keyed by port name) with reference outputs (keyed by origin)."""
    rows = []
    for port in outputs:
        ref = np.asarray(reference[port.origin])
        got = np.asarray(candidate[port.name])
        if ref.shape != got.shape or ref.dtype.kind in "OSU":
            same = ref.shape == got.shape and bool(np.all(ref == got))
            gap = 0.0 if same else float("inf")
            rows.append(OutputParity(port.name, port.origin, tuple(got.shape), gap, gap, same))
            continue
        a, b = ref.astype(np.float64), got.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - b)
            diff = np.where(np.isnan(a) & np.isnan(b), 0.0, diff)
            diff = np.where(np.isnan(diff), np.inf, diff)
            rel = diff / np.maximum(np.abs(a), 1e-12)
            both_nan = np.isnan(a) & np.isnan(b)
            ok = bool(np.all(both_nan | (diff <= tolerance.atol + tolerance.rtol * np.abs(a))))
        rows.append(
            OutputParity(
                port.name,
                port.origin,
                tuple(got.shape),
                float(diff.max()) if diff.size else 0.0,
                float(rel.max()) if rel.size else 0.0,
                ok,
                _quantiles(diff),
            )
        )
    return Parity(tuple(rows), tolerance, input_shapes or {})


def _quantiles(diff: np.ndarray) -> dict[str, float]:
    """p50/p90/p99/max of |diff| over its finite values (an inf gap is in max_abs_diff already); {} when none."""
    finite = diff[np.isfinite(diff)]
    if not finite.size:
        return {}
    p50, p90, p99 = (float(q) for q in np.percentile(finite, [50, 90, 99]))
    return {"p50": p50, "p90": p90, "p99": p99, "max": float(finite.max())}
