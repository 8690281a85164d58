"""The wild corpus: models rebuilt from public issue threads, built the way their users built them.

Not part of ``corpora.all_cases()`` (tests/e2e/test_corpus_e2e.py builds everything that lists):
``corpora.wild_cases()`` lists these, ``python -m corpora build wild/<name> DEST`` builds one,
``python -m corpora.wild.report`` runs them all and writes RESULTS.md, tests/e2e/test_wild.py asserts.
The definitions live in ``corpora/wild/_core.py``.
"""

from corpora.wild._core import (
    REFERENCE,
    WildCase,
    get_wild_case,
    read_reference,
    rng,
    serving_keys,
    wild_cases,
    write_reference,
)

__all__ = ["REFERENCE", "WildCase", "get_wild_case", "read_reference", "rng", "serving_keys", "wild_cases",
           "write_reference"]
