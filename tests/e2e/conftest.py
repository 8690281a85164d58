"""End-to-end fixtures shared by several test files, so that the same real run is made once per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus, tree_digest


@dataclass(frozen=True)
class LocalBatch:
    """One finished ``repair batch ZOO --out OUT -j 2`` (local engine) of tests/e2e/test_batch.py's zoo.

    Tests read ``out`` and never write into it: a test that resumes or retries works on a copy of it.
    """

    zoo: Path
    out: Path
    exit_code: int
    stderr: str
    summary: dict  # type: ignore[type-arg]  # summary.json as the run wrote it


@pytest.fixture(scope="session")
def batch_zoo(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/e2e/test_batch.py's zoo (k3, train_tag, resize, notamodel), built once for the session."""
    from tests.e2e.test_batch import build_zoo  # here, not at the top: conftest loads before the test modules

    return build_zoo(corpus, tmp_path_factory.mktemp("batch") / "zoo")


@pytest.fixture(scope="session")
def local_batch(batch_zoo: Path, tmp_path_factory: pytest.TempPathFactory) -> LocalBatch:
    """The local engine's run of the zoo, made once: test_batch.py checks it and resumes a copy of it, and
    test_batch_ray.py compares the Ray engine's run of the same zoo with it (both need the same run: two runs of
    the same command would only repeat ~15 s of TensorFlow work)."""
    out = tmp_path_factory.mktemp("batch-local") / "out"
    run = repair("batch", str(batch_zoo), "--out", str(out), "-j", "2")
    assert (out / "summary.json").is_file(), run.stdout + run.stderr
    summary = json.loads((out / "summary.json").read_text())
    return LocalBatch(batch_zoo, out, run.exit_code, run.stderr, summary)


@dataclass(frozen=True)
class CorpusFix:
    """One ``repair fix ARTIFACT --out OUT --report REPORT <the case's fix_args>`` of a corpus case.

    ``digest_before``/``digest_after``: the input's tree digest around the run (the input must be left untouched).
    Tests read ``out`` and ``report_dir`` and never write into them.
    """

    case_id: str
    artifact: Path
    root: Path  # holds out and report_dir, and nothing else unless the run left scratch behind
    out: Path
    report_dir: Path
    exit_code: int
    stdout: str
    stderr: str
    digest_before: str
    digest_after: str


class CorpusFixes:
    """Each corpus case fixed with its own corpus flags at most once per session, when a test first asks for it.

    test_corpus_e2e.py's ``test_fix``, test_html_report.py and test_report_facts.py all check that same run (each
    its own facts about it); one run each instead of up to three saves a TensorFlow run (seconds) per shared case.
    """

    def __init__(self, corpus: Corpus, root: Path) -> None:
        self.corpus, self.root = corpus, root
        self._done: dict[str, CorpusFix] = {}

    def fix(self, case_id: str) -> CorpusFix:
        """The session's run of ``repair fix`` on ``case_id`` with the case's ``expect.fix_args``."""
        if case_id not in self._done:
            case = self.corpus.cases[case_id]
            artifact = self.corpus.artifact(case_id)
            case_dir = self.corpus.case_dir(case_id)
            args = [a.replace("{case_dir}", str(case_dir)) for a in case.expect.fix_args]
            root = self.root / case_id.replace("/", "__")
            root.mkdir(parents=True)
            out, report_dir = root / "fixed", root / "report"
            before = tree_digest(artifact)
            run = repair("fix", str(artifact), "--out", str(out), "--report", str(report_dir), *args)
            self._done[case_id] = CorpusFix(case_id, artifact, root, out, report_dir, run.exit_code, run.stdout,
                                            run.stderr, before, tree_digest(artifact))
        return self._done[case_id]


@pytest.fixture(scope="session")
def corpus_fixes(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> CorpusFixes:
    return CorpusFixes(corpus, tmp_path_factory.mktemp("corpus-fix"))
