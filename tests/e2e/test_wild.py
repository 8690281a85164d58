"""The wild corpus end to end: models rebuilt from public issue threads, judged without trusting the tool.

For each case in corpora/wild/: build it (a fresh process, once per session, only when a test needs it, two
at a time), run the real CLI ``repair fix ARTIFACT --out OUT --report R <the user's flags>``, and judge the
run with ``corpora.wild.judge``: a repaired case is reloaded, reconverted with the default converter and run in
TensorFlow and in the LiteRT interpreter against the outputs the user's live model computed at build time; a
refused case must exit with its documented code, publish nothing and name the reason; the input must be
byte-identical afterwards. Cases the tool still fails carry ``xfail`` (strict) in their case data.
``python -m corpora.wild.report`` runs the same judgement over all cases and writes corpora/wild/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from corpora.wild import WildCase, wild_cases
from corpora.wild.judge import fix_args, judge, tree_digest
from tests.cli_helpers import repair
from tests.e2e import test_html_report
from tests.e2e.test_html_report import ReportPage, check_report_html

optional_report_page = test_html_report.optional_report_page  # one headless Chromium for the session's report.html checks

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CASES = wild_cases()


def _param(case: WildCase) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case.id, marks=marks, id=case.name)


class WildBuilds:
    """Builds a case when a test first asks for it, and the next case in order beside it (2 cores)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.order = [c.id for c in CASES]
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._futures: dict[str, Future[Path]] = {}
        self._running: set[subprocess.Popen[str]] = set()

    def _build(self, case_id: str) -> Path:
        proc = subprocess.Popen([sys.executable, "-m", "corpora", "build", case_id, str(self.case_dir(case_id))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self._running.add(proc)
        try:
            stdout, stderr = proc.communicate()
        finally:
            self._running.discard(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"building {case_id} failed:\n{stderr[-3000:]}")
        return Path(stdout.strip().splitlines()[-1])

    def close(self) -> None:
        """At session end: the build queued ahead for a test that never came is dropped, a running one killed, so
        nothing runs after pytest's summary."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(self._running):
            proc.kill()
        self._pool.shutdown(wait=True)

    def _submit(self, case_id: str) -> None:
        if case_id not in self._futures:
            self._futures[case_id] = self._pool.submit(self._build, case_id)

    def artifact(self, case_id: str) -> Path:
        self._submit(case_id)
        following = self.order[self.order.index(case_id) + 1:]
        if following:
            self._submit(following[0])  # built while this case is repaired and judged
        return self._futures[case_id].result()

    def case_dir(self, case_id: str) -> Path:
        return self.root / case_id


@pytest.fixture(scope="session")
def wild_builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WildBuilds]:
    builds = WildBuilds(tmp_path_factory.mktemp("wild"))
    yield builds
    builds.close()


@pytest.mark.parametrize("case_id", [_param(c) for c in CASES])
def test_wild_case(wild_builds: WildBuilds, case_id: str, tmp_path: Path,
                   optional_report_page: ReportPage | None) -> None:
    case = next(c for c in CASES if c.id == case_id)
    artifact = wild_builds.artifact(case_id)
    case_dir = wild_builds.case_dir(case_id)
    before = tree_digest(artifact)
    out, report_dir = tmp_path / "fixed", tmp_path / "report"
    run = repair("fix", str(artifact), "--out", str(out), "--report", str(report_dir), *fix_args(case, case_dir))
    problems = judge(case, artifact, case_dir, out, report_dir, run.exit_code, run.stdout + run.stderr, before)
    assert not problems, "\n".join(problems)
    if optional_report_page is not None:  # report.html of a model built as its user built it renders (~0.3 s)
        check_report_html(optional_report_page, report_dir / "report.html", case_id)


def test_wild_corpus_is_large_and_sourced() -> None:
    """At least 25 cases, each from a public thread, some of them refusals with a stated reason."""
    assert len(CASES) >= 25
    for case in CASES:
        assert case.url.startswith("https://"), case.id
        assert case.expect in {"repaired", "refused"}, case.id
        assert case.expect == "repaired" or case.reason, case.id
    assert sum(c.expect == "refused" for c in CASES) >= 3
