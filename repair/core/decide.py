"""One plan for every mode: how proposed fixes are accepted or rejected, for models and for source alike.

A ``Proposal`` is a fix the catalog proposes (a model rewrite, or one edit site in a source file). A
``Decider`` answers each proposal with a ``Decision``. Three ways fill the same plan:

- ``AutoDecider``: the flags (``--yes``, ``--unsafe-fixes``, and for ``fix`` the flags that parametrize an
  unsafe fix, like ``--pin``) decide by safety level;
- the interactive prompt (in ``repair.cli``, the only module that asks anyone anything);
- ``PlanDecider``: a plan file written by ``--plan-out`` and edited by the user, applied exactly.

``Recorder`` wraps any of them and keeps every proposal with its decision, which is what ``--plan-out`` writes.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from repair.core.errors import BadInput
from repair.core.safety import Safety

PLAN_VERSION = 1


class Decision(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"


class ProposalKind(enum.Enum):
    MODEL = "model"  # a rewrite of the model artifact
    SOURCE = "source"  # one edit in a Python source file


@dataclass(frozen=True)
class Proposal:
    """A fix waiting for a decision.

    ``id`` is stable between a ``--plan-out`` run and a ``--plan-in`` run on the same input.
    ``preview`` and ``details`` are lazy (a model preview applies the fix in scratch and runs parity):
    only the interactive prompt calls them. ``title``, ``location`` and both texts are raw (they quote keys
    and the user's code): the prompt escapes them for the terminal, plan files keep them verbatim.
    """

    id: str
    kind: ProposalKind
    rewrite_id: str
    safety: Safety
    title: str  # one line: what it changes
    location: str  # "model" or "path:line"
    finding: str = ""  # the finding id it answers (model fixes)
    preview: Callable[[], str] = field(default=lambda: "", compare=False, repr=False)
    details: Callable[[], str] = field(default=lambda: "", compare=False, repr=False)


class Decider(Protocol):
    def __call__(self, proposal: Proposal) -> Decision: ...


@dataclass(frozen=True)
class AutoDecider:
    """Decides by safety: safe fixes with ``yes``, unsafe ones with ``unsafe`` or when the user gave their parameters."""

    yes: bool = True
    unsafe: bool = False
    consented: frozenset[str] = frozenset()  # unsafe rewrite ids whose parametrizing flag was given (--pin, --rename ...)

    def __call__(self, proposal: Proposal) -> Decision:
        if proposal.safety.by_default:
            return Decision.ACCEPT if self.yes or self.unsafe else Decision.REJECT
        if proposal.safety is Safety.UNSAFE:
            return Decision.ACCEPT if self.unsafe or proposal.rewrite_id in self.consented else Decision.REJECT
        return Decision.REJECT

    def why_yes(self, proposal: Proposal) -> str:
        """Why an accepted proposal was accepted, in words for the report."""
        if proposal.safety is Safety.SAFE:
            return "safe: applied by default"
        if proposal.safety is Safety.VERIFIED:
            return "verified: applied by default because it keeps the serving contract and the gate proves the numbers"
        if proposal.rewrite_id in self.consented and not self.unsafe:
            return ("unsafe: the flag that gives its values is the consent "
                    "(--pin, --sample, --rename, --input-keys, --request, --target, --quantize)")
        return "unsafe: accepted by --unsafe-fixes"

    def why_not(self, proposal: Proposal) -> str:
        """The flag that would have accepted a rejected proposal."""
        if proposal.safety is Safety.UNSAFE:
            return "unsafe: pass --unsafe-fixes (or decide with -i / --plan-in)"
        if proposal.safety.by_default:
            return "pass --yes (or decide with -i / --plan-in)"
        return "display-only: never applied"


@dataclass
class PlanDecider:
    """Applies exactly the decisions of a plan file; a proposal the plan does not list is rejected and remembered."""

    decisions: dict[str, Decision]
    unplanned: list[str] = field(default_factory=list)

    def __call__(self, proposal: Proposal) -> Decision:
        decision = self.decisions.get(proposal.id)
        if decision is None:
            self.unplanned.append(proposal.id)
            return Decision.REJECT
        return decision

    def why_yes(self, proposal: Proposal) -> str:
        return "accepted in the plan file"

    def why_not(self, proposal: Proposal) -> str:
        if proposal.id in self.unplanned:
            return "not in the plan file (the plan was made before an earlier decision changed)"
        return "rejected in the plan file"


@dataclass
class Recorder:
    """Wraps a decider and keeps every proposal with the decision taken: the content of ``--plan-out``."""

    inner: Decider
    entries: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, proposal: Proposal) -> Decision:
        decision = self.inner(proposal)
        self.record(proposal, decision)
        return decision

    def record(self, proposal: Proposal, decision: Decision) -> None:
        self.entries.append({
            "id": proposal.id,
            "kind": proposal.kind.value,
            "rewrite": proposal.rewrite_id,
            "safety": proposal.safety.value,
            "location": proposal.location,
            "finding": proposal.finding,
            "title": proposal.title,
            "decision": decision.value,
        })

    @property
    def stopped(self) -> bool:
        return bool(getattr(self.inner, "stopped", False))

    def why_not(self, proposal: Proposal) -> str:
        why = getattr(self.inner, "why_not", None)
        return why(proposal) if why else "rejected"

    def why_yes(self, proposal: Proposal) -> str:
        return why_yes(self.inner, proposal)


def stopped(decider: Decider) -> bool:
    """Whether the decider has quit (the prompt's [q]): every later proposal is rejected without asking."""
    return bool(getattr(decider, "stopped", False))


def why_not(decider: Decider, proposal: Proposal) -> str:
    """Why a proposal was rejected, in words that name the flag to change it."""
    why = getattr(decider, "why_not", None)
    return why(proposal) if why else "rejected"


def why_yes(decider: Decider, proposal: Proposal) -> str:
    """Why a proposal was accepted (by default, by a flag, in a plan file, at the prompt)."""
    why = getattr(decider, "why_yes", None)
    return why(proposal) if why else "accepted"


def fingerprint(paths: list[Path]) -> str:
    """A digest of the inputs a plan was made for: a plan applied to other inputs is refused."""
    h = hashlib.sha256()
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            h.update(str(f).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def write_plan(path: Path, command: str, subject: list[str], digest: str, entries: list[dict[str, Any]],
               extra: dict[str, Any] | None = None) -> None:
    """Write the proposals and their decisions; the user edits ``decision`` and runs again with ``--plan-in``."""
    body = {
        "version": PLAN_VERSION,
        "command": command,
        "inputs": subject,
        "fingerprint": digest,
        "how_to_use": "set each fix's decision to accept or reject, then rerun the same command with --plan-in "
                      "this file (fixes not listed are rejected)",
        "fixes": entries,
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(path)


def read_plan(path: Path, command: str, digest: str | None) -> tuple[PlanDecider, dict[str, Any]]:
    """Read a plan file; a plan for another command or for changed inputs is bad input."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--plan-in {path}: not a readable plan file ({type(exc).__name__})") from None
    if not isinstance(body, dict) or body.get("version") != PLAN_VERSION or not isinstance(body.get("fixes"), list):
        raise BadInput(f"--plan-in {path}: not a repair plan (version {PLAN_VERSION} with a 'fixes' list)")
    if body.get("command") != command:
        raise BadInput(f"--plan-in {path}: this plan is for 'repair {body.get('command')}', not 'repair {command}'")
    if digest is not None and body.get("fingerprint") != digest:
        raise BadInput(f"--plan-in {path}: the inputs changed since the plan was written; write a new plan with --plan-out")
    decisions: dict[str, Decision] = {}
    for entry in body["fixes"]:
        try:
            decisions[str(entry["id"])] = Decision(str(entry["decision"]).strip().lower())
        except (KeyError, TypeError, ValueError):
            raise BadInput(f"--plan-in {path}: every fix needs an id and a decision 'accept' or 'reject' "
                           f"(bad entry: {json.dumps(entry)[:120]})") from None
    return PlanDecider(decisions), body
