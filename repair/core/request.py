"""A sample TF Serving REST request: the keys clients send, and what their values look like.

``--request FILE.json`` takes the body a client really sends (``{"instances": [{...}, ...]}``, the row
format, or ``{"inputs": {...}}``, the columnar one). Keys alone cannot say which model input a client key
means when several differ (``input_1, input_2`` vs ``age, income``); the values can: their dtype kind
and shape rule out most pairings. ``match_keys`` uses, in order, what the values say, what the names
say, and the order of the keys in the request, and says which one decided. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import enum
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from repair.core.errors import BadInput
from repair.core.text import count

Shape = tuple[int | None, ...]
MAX_PERMUTED = 7  # 5,040 pairings; beyond that only names and order decide


class ValueKind(enum.Enum):
    """The element kind of a request value or a model input's dtype: what decides whether one can feed the other."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"
    UNKNOWN = "unknown"  # mixed, empty, or not a JSON value TF Serving reads: fits any input


@dataclass(frozen=True)
class RequestInput:
    """One key of the request: the kind of its values (float, int, bool, string) and their batched shape."""

    key: str
    kind: ValueKind
    shape: Shape | None  # batch first (None when the rows disagree or nothing can be read)


@dataclass(frozen=True)
class InputPort:
    """What ``match_keys`` needs of one model input."""

    name: str
    dtype: str  # TensorFlow dtype name, e.g. "float32", "int64", "string"
    shape: Shape | None


def _kind_and_shape(value: object) -> tuple[ValueKind, Shape | None]:
    """The element kind and shape of a JSON value (a nested list, a scalar, or {"b64": ...})."""
    if isinstance(value, dict):
        return (ValueKind.STRING, ()) if set(value) == {"b64"} else (ValueKind.UNKNOWN, None)
    if isinstance(value, list):
        if not value:
            return ValueKind.UNKNOWN, (0,)
        parts = [_kind_and_shape(v) for v in value]
        kinds = {k for k, _ in parts}
        shapes = {s for _, s in parts}
        mixed = ValueKind.FLOAT if kinds == {ValueKind.FLOAT, ValueKind.INT} else ValueKind.UNKNOWN  # [1, 2.5] is float
        kind = kinds.pop() if len(kinds) == 1 else mixed
        inner = shapes.pop() if len(shapes) == 1 else None
        return kind, None if inner is None else (len(value), *inner)
    if isinstance(value, bool):
        return ValueKind.BOOL, ()
    if isinstance(value, int):
        return ValueKind.INT, ()
    if isinstance(value, float):
        return ValueKind.FLOAT, ()
    if isinstance(value, str):
        return ValueKind.STRING, ()
    return ValueKind.UNKNOWN, None


def parse_request(path: Path) -> tuple[RequestInput, ...]:
    """The inputs of a TF Serving REST body; bad JSON or another shape of body is bad input (one line)."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--request {path}: not a readable JSON file ({exc.__class__.__name__})") from None
    if isinstance(body, dict):
        instances = body.get("instances")
        if isinstance(instances, list) and instances and all(isinstance(i, dict) for i in instances):
            keys = list(dict.fromkeys(k for i in instances for k in i))
            found = []
            for key in keys:
                column = [i.get(key) for i in instances]
                kind, shape = _kind_and_shape(column) if all(v is not None for v in column) else (ValueKind.UNKNOWN, None)
                found.append(RequestInput(key, kind, shape))
            return tuple(found)
        inputs = body.get("inputs")
        if isinstance(inputs, dict):
            # Columnar: every value carries the batch already.
            return tuple(RequestInput(k, *_kind_and_shape(v)) for k, v in inputs.items())
        if instances is not None or inputs is not None:
            return ()  # a single unnamed input: no key contract to check
    raise BadInput(f"--request {path}: expected a TF Serving REST body with 'instances' or 'inputs'")


def _kind_of(dtype: str) -> ValueKind:
    if dtype.startswith(("float", "bfloat", "half", "double")):
        return ValueKind.FLOAT
    if dtype.startswith(("int", "uint")):
        return ValueKind.INT
    return {"bool": ValueKind.BOOL, "string": ValueKind.STRING}.get(dtype, ValueKind.UNKNOWN)


def fits(port: InputPort, value: RequestInput) -> bool:
    """Whether a request value can feed a model input: its kind and its shape (rank and known sizes) agree."""
    want, have = _kind_of(port.dtype), value.kind
    if have is not ValueKind.UNKNOWN and not (want is have or (want is ValueKind.FLOAT and have is ValueKind.INT)):
        return False
    if port.shape is None or value.shape is None:
        return True
    if len(port.shape) != len(value.shape):
        return False
    return all(a is None or a == b for a, b in zip(port.shape[1:], value.shape[1:]))


_GENERIC = re.compile(r"^(input|inputs|keras_tensor|args|arg|x|serving_default_input)(_\d+)?$")


def _natural(name: str) -> tuple[object, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def _related(a: str, b: str) -> bool:
    """Names that say the same thing: one contains the other, ignoring case and separators."""
    x, y = re.sub(r"[^a-z0-9]", "", a.lower()), re.sub(r"[^a-z0-9]", "", b.lower())
    return bool(x and y) and (x in y or y in x)


@dataclass(frozen=True)
class KeyMatch:
    """A model-input -> client-key mapping and what decided it, or ``problem`` when nothing could."""

    mapping: dict[str, str]
    how: str = ""
    problem: str = ""


def match_keys(ports: list[InputPort], request: tuple[RequestInput, ...]) -> KeyMatch:
    """Which client key each model input should get.

    Keys already equal stay. The rest are paired: first every pairing their values allow (dtype kind,
    rank, known sizes); if several remain, the pairings whose names are related; if several still remain
    and the model's names say nothing (input_1, keras_tensor_3, ...), the order of the keys in the
    request against the model's input order. Otherwise the problem names the exact --input-keys line.
    """
    by_key = {r.key: r for r in request}
    have = [p for p in ports if p.name not in by_key]
    want = [r for r in request if r.key not in {p.name for p in ports}]
    if len(have) != len(want):
        return KeyMatch({}, problem=f"the model has {count(len(ports), 'input')} ({', '.join(p.name for p in ports)}) but the "
                                    f"request sends {len(request)} keys ({', '.join(by_key)}); use --rename old=new")
    if not have:
        return KeyMatch({}, how="the keys already match")
    if len(have) > MAX_PERMUTED:
        candidates = [tuple(want)] if all(fits(p, r) for p, r in zip(have, want)) else []
    else:
        candidates = [perm for perm in itertools.permutations(want) if all(fits(p, r) for p, r in zip(have, perm))]
    if not candidates:
        return KeyMatch({}, problem="no pairing of " + ", ".join(p.name for p in have) + " with "
                                    + ", ".join(r.key for r in want) + " fits the request's values (dtype and shape); "
                                    "use --rename old=new")
    how = "the request's values (dtype and shape)"
    if len(candidates) > 1:
        named = [c for c in candidates if all(_related(p.name, r.key) for p, r in zip(have, c))]
        if len(named) == 1:
            candidates, how = named, how + ", then the names"
    if len(candidates) > 1 and all(_GENERIC.match(p.name) for p in have):
        # The k-th model input in natural name order (input_2 before input_10) gets the k-th key of the request.
        ordered = sorted(want, key=lambda r: list(by_key).index(r.key))
        positions = sorted(range(len(have)), key=lambda i: _natural(have[i].name))
        choice = tuple(ordered[positions.index(i)] for i in range(len(have)))
        if choice in candidates:
            candidates, how = [choice], how + ", then the order of the keys in the request (the model's names are generic)"
    if len(candidates) > 1:
        guess = {p.name: r.key for p, r in zip(have, candidates[0])}
        line = ",".join(guess.get(p.name, p.name) for p in ports)
        return KeyMatch({}, problem=f"cannot tell which of {', '.join(p.name for p in have)} should become "
                                    f"{', '.join(r.key for r in want)} ({len(candidates)} pairings fit the values); "
                                    f"paste the right order, e.g. --input-keys {line} (inputs in this order: "
                                    + ", ".join(f"{p.name} {p.dtype}" for p in ports) + ")")
    return KeyMatch({p.name: r.key for p, r in zip(have, candidates[0])}, how=how)
