"""What a wild case is, how the wild cases are found, and the helpers their builds use.

Each ``corpora/wild/<name>.py`` defines ``CASE = WildCase(...)``: the thread it comes from, how to build the
artifact (a fresh process; tf_keras/tfmot cases run with ``TF_USE_LEGACY_KERAS=1``), the flags a user would
plausibly pass to ``repair fix``, and what must happen: ``repaired`` (judged independently of the tool by
``corpora.wild.judge``) or ``refused`` (with the reason the refusal must name).

Every build writes, next to the artifact, ``reference.npz``: fixed inputs keyed by the serving input names of
the user's model (``input:<name>``) and the outputs the user's *live* model computes on them in the build
process (``output:<name>``): the original computed the way that still works. When the repair changes the
serving contract on purpose (serialized tf.Example -> parsed features), the build also writes
``repaired_input:<name>`` entries: the same data in the form the repaired model takes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE = "reference.npz"
_ROOT = Path(__file__).parent
_NOT_CASES = {"judge", "report"}


@dataclass(frozen=True)
class WildCase:
    """One model from a public thread and what ``repair fix`` must do with it."""

    id: str  # "wild/<name>", equal to the module path
    url: str  # the public thread the model comes from (the docstring may name more)
    summary: str  # one line: what the user built and saw
    build: Callable[[Path], Path]  # writes into the empty dir, returns the artifact path; writes reference.npz
    expect: str  # "repaired" | "refused"
    legacy_keras: bool = False  # tf_keras / tfmot build (TF_USE_LEGACY_KERAS=1)
    args: tuple[str, ...] = ()  # flags a user would pass to `repair fix` ({case_dir} = the build dir)
    reason: str = ""  # refused: a substring (case-insensitive) the message/report must contain
    exit_codes: tuple[int, ...] = (1,)  # refused: the accepted exit codes (1 refused, 3 cannot be verified)
    rewrites: tuple[str, ...] = ()  # rewrites the report must list as applied (optional)
    pinned: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # repaired: exact OUT input shapes
    key_map: Mapping[str, str] = field(default_factory=dict)  # reference input name -> OUT key (request/keys)
    allow_resource_ops: bool = False  # repaired: VAR_HANDLE/READ_VARIABLE may stay in the .tflite
    atol: float = 1e-4
    rtol: float = 1e-3
    xfail: str = ""  # what fails today (one line); the test marks the case xfail(strict=True)

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]


def wild_cases() -> list[WildCase]:
    """Every case under corpora/wild/, sorted by id."""
    cases: list[WildCase] = []
    for info in pkgutil.iter_modules([str(_ROOT)]):
        if info.name.startswith("_") or info.name in _NOT_CASES:
            continue
        module = importlib.import_module(f"corpora.wild.{info.name}")
        case = getattr(module, "CASE", None)
        if isinstance(case, WildCase):
            cases.append(case)
    return sorted(cases, key=lambda c: c.id)


def get_wild_case(case_id: str) -> WildCase:
    """The wild case with this id (KeyError if none)."""
    module = importlib.import_module("corpora.wild." + case_id.split("/", 1)[-1])
    case = getattr(module, "CASE", None)
    if not isinstance(case, WildCase) or case.id != case_id:
        raise KeyError(case_id)
    return case


def _numpy(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def write_reference(
    dest: Path,
    inputs: Mapping[str, Any],
    outputs: Any,
    repaired_inputs: Mapping[str, Any] | None = None,
) -> None:
    """Write ``dest/reference.npz``: the fixed inputs and the live model's outputs on them.

    ``outputs`` is a mapping (serving output key -> value) or one tensor; one tensor is stored as
    ``output:output_0`` (the judge matches a single output whatever its key).
    """
    import numpy as np

    if not isinstance(outputs, Mapping):
        outputs = {"output_0": outputs}
    arrays = {f"input:{k}": _numpy(v) for k, v in inputs.items()}
    arrays.update({f"output:{k}": _numpy(v) for k, v in outputs.items()})
    for k, v in (repaired_inputs or {}).items():
        arrays[f"repaired_input:{k}"] = _numpy(v)
    np.savez(dest / REFERENCE, **arrays)


def read_reference(case_dir: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(inputs, outputs, repaired_inputs) from ``case_dir/reference.npz``."""
    import numpy as np

    parts: dict[str, dict[str, Any]] = {"input": {}, "output": {}, "repaired_input": {}}
    with np.load(case_dir / REFERENCE, allow_pickle=True) as data:
        for key in data.files:
            kind, name = key.split(":", 1)
            parts[kind][name] = data[key]
    return parts["input"], parts["output"], parts["repaired_input"]


def rng(*seed: int) -> Any:
    """A numpy Generator seeded by the case (deterministic reference inputs)."""
    import numpy as np

    return np.random.default_rng([7, *seed])


def serving_keys(saved_model_dir: Path) -> tuple[list[str], list[str]]:
    """(input keys, output keys) of serving_default, read back from a SavedModel the build just wrote."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
    return sorted(fn.structured_input_signature[1]), sorted(fn.structured_outputs)
