"""Corpus of broken models: one build script per failure class and case.

``python -m corpora list`` lists the cases; ``python -m corpora build ID DEST`` builds one.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from corpora.case import Case, Expect

__all__ = ["Case", "Expect", "all_cases", "get_case", "wild_cases"]

_ROOT = Path(__file__).parent


def all_cases() -> list[Case]:
    """Every case under corpora/<class>/<case>.py, sorted by id."""
    cases: list[Case] = []
    for group in sorted(p for p in _ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if group.name == "wild":  # judged by tests/e2e/test_wild.py, not by the corpus end-to-end test
            continue
        for info in pkgutil.iter_modules([str(group)]):
            module = importlib.import_module(f"corpora.{group.name}.{info.name}")
            case = getattr(module, "CASE", None)
            if isinstance(case, Case):
                cases.append(case)
    return sorted(cases, key=lambda c: c.id)


def get_case(case_id: str) -> Case:
    if case_id.startswith("wild/"):
        from corpora.wild._core import get_wild_case

        return get_wild_case(case_id)  # type: ignore[return-value]  # same build/legacy_keras contract
    for case in all_cases():
        if case.id == case_id:
            return case
    raise KeyError(case_id)


def wild_cases() -> list:
    """The wild corpus (corpora/wild/): models rebuilt from public issue threads, sorted by id."""
    from corpora.wild._core import wild_cases as _wild_cases

    return _wild_cases()
