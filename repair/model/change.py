"""What a repair changed in the serving graph, as data a picture and Model Explorer can show.

``graph_change(before, after)`` reads the serving function of two SavedModels (statically: their protos, nothing is
loaded or run), matches their nodes, and keeps the changed neighbourhood: every added, removed or changed node and the
nodes within ``hops`` edges of one. What falls outside is counted (``elided``), never drawn, so a ResNet50-sized graph
gives a picture of the change, not of the network.

Strings here (node names, op names, notes) come from the model and stay raw: escaping happens where they are printed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class NodeState(enum.Enum):
    SAME = "same"
    ADDED = "added"  # only in the repaired graph
    REMOVED = "removed"  # only in the original graph
    CHANGED = "changed"  # in both, with another op, inputs or attributes


@dataclass(frozen=True)
class DrawnNode:
    """One node of one side's picture."""

    id: str  # the node's name in that graph (unique within the side)
    op: str
    state: NodeState
    note: str = ""  # why it is marked: "op Placeholder -> Const", "input 1 now reads x", ...


@dataclass(frozen=True)
class DrawnEdge:
    source: str  # DrawnNode.id
    target: str


@dataclass(frozen=True)
class GraphSide:
    """The part of one graph (before or after) that the picture draws."""

    label: str  # "original: serving_default" / "repaired: serving_default"
    nodes: tuple[DrawnNode, ...]
    edges: tuple[DrawnEdge, ...]
    total_nodes: int  # in the whole serving graph (functions flattened as ``graph_change`` documents)
    elided: int  # total_nodes - drawn

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "total_nodes": self.total_nodes, "elided": self.elided,
                "nodes": [{"id": n.id, "op": n.op, "state": n.state.value, "note": n.note} for n in self.nodes],
                "edges": [{"source": e.source, "target": e.target} for e in self.edges]}


@dataclass(frozen=True)
class GraphChange:
    """The serving graph before and after, cut to the changed neighbourhood."""

    before: GraphSide | None  # None: the original has no readable serving graph (a .keras/.h5 file, a bare GraphDef...)
    after: GraphSide | None
    added: int
    removed: int
    changed: int
    hops: int
    summary: str  # one plain sentence: "3 nodes added, 1 removed, 2 changed (2 hops shown)" / "graph unchanged: ..."
    notes: tuple[str, ...] = field(default=())  # e.g. why one side is missing

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed, "hops": self.hops,
                "summary": self.summary, "notes": list(self.notes),
                "before": self.before.to_json() if self.before else None,
                "after": self.after.to_json() if self.after else None}
