"""The plan: which fix answers which finding, and the fixes proposed for a round.

``annotate`` fills each finding's ``fix`` from the catalog, or the reason nothing in it fixes the finding (the
rewrites' reasons, else the kind's next step in ``repair.core.findings.WORDING``). How proposals are decided (flags,
prompt, plan file) is ``repair.core.decide``; the pipeline never asks anyone directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from repair.core.findings import WORDING, Finding
from repair.core.options import Options
from repair.fix.rewrite import Catalog, Rewrite, Safety
from repair.model.working import WorkingModel


@dataclass(frozen=True)
class ProposedFix:
    """A fix the catalog proposes for a finding on the current model."""

    rewrite: Rewrite
    finding: Finding

    @property
    def safety(self) -> Safety:
        return self.rewrite.safety


def annotate(findings: list[Finding], model: WorkingModel, options: Options, catalog: Catalog) -> list[Finding]:
    """Fill each finding's fix from the catalog, or the reason none applies."""
    out = []
    for finding in findings:
        reasons = []
        chosen = None
        for rewrite in catalog.answering(finding.kind):
            if not rewrite.claims(finding):
                continue
            reason = rewrite.check(model, finding, options)
            if reason is None:
                chosen = rewrite
                break
            reasons.append(reason)
        if chosen is not None:
            out.append(replace(finding, fix=chosen.id, no_fix_reason=""))
        else:
            next_step = WORDING[finding.kind].no_fix or "no catalog fix"
            # An empty reason is a rewrite declining a finding that is not about this model: nothing to say.
            out.append(replace(finding, fix=None, no_fix_reason="; ".join(r for r in reasons if r) or next_step))
    return out


def proposals(findings: list[Finding], already: set[str], catalog: Catalog) -> list[ProposedFix]:
    """One proposal per rewrite not yet applied, in catalog order."""
    by_id: dict[str, Finding] = {}
    for finding in findings:
        if finding.fix and finding.fix not in already and finding.fix not in by_id:
            by_id[finding.fix] = finding
    return [ProposedFix(r, by_id[r.id]) for r in catalog if r.id in by_id]
