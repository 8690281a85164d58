"""``repair codemod``: the source catalog applied to the user's Python, never importing or running it.

Per file: a cheap pre-filter skips files that cannot match before anything is parsed (each rewrite's
trigger substrings, then whether the file's import lines reach the names the rewrite matches); the rest
is parsed with libcst and the source catalog runs in order. Every
site a rewrite finds becomes a ``Proposal`` that a decider accepts or rejects before it is applied; the
catalog repeats until a round changes nothing, so a second run on rewritten code changes nothing.
A file that fails to parse is reported and left alone. Writes are atomic (temp file + rename) and only
happen when the file still has the bytes it was read with.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import ast
import difflib
import enum
import functools
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import libcst as cst

from repair.core.decide import AutoDecider, Decider, Decision, PlanDecider, Proposal, ProposalKind, Recorder, stopped, why_not
from repair.core.safety import Safety
from repair.core.text import count
from repair.source.rewrite import Names, Shared, Site, SourceOptions, SourceRewrite, run_pass

MAX_ROUNDS = 5  # a catalog round that changes nothing ends the loop; more than this means rewrites fight
_SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules", ".mypy_cache",
              ".pytest_cache", "build", "dist", ".eggs"}


class FileStatus(enum.Enum):
    """What happened to one file; the values are the words the summary line and the progress output use."""

    CHANGED = "changed"  # the catalog changed its text (written with --write, else shown as a diff)
    UNCHANGED = "unchanged"  # parsed and run, nothing to change (or not reached after a quit)
    SKIPPED = "skipped"  # the pre-filter ruled it out before parsing
    FAILED = "failed"  # unreadable, not UTF-8, does not parse, or could not be written


@dataclass(frozen=True)
class Edit:
    """One decided site: applied, not applied (and why), or display-only."""

    site: Site
    applied: bool
    why: str = ""


@dataclass
class FileResult:
    """What happened to one file."""

    path: str
    status: FileStatus
    before: str = ""
    after: str = ""
    error: str = ""
    edits: list[Edit] = field(default_factory=list)
    proposals: list[dict[str, object]] = field(default_factory=list)  # plan entries, from a Recorder
    written: bool = False

    def diff(self) -> str:
        return unified(self.before, self.after, self.path)

    @property
    def warnings(self) -> list[Site]:
        return [e.site for e in self.edits if e.site.safety is Safety.DISPLAY_ONLY]


def unified(before: str, after: str, path: str) -> str:
    """A unified diff: ``a/``/``b/`` prefixes for relative paths (``git apply``), absolute paths as they are."""
    if before == after:
        return ""
    old, new = (path, path) if os.path.isabs(path) else (f"a/{path}", f"b/{path}")
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=old, tofile=new))


def proposal_for(site: Site, path: str, rewrite: SourceRewrite, preview: Callable[[], str]) -> Proposal:
    return Proposal(
        id=f"{path}::{site.key}",
        kind=ProposalKind.SOURCE,
        rewrite_id=site.rewrite_id,
        safety=site.safety,
        title=site.message,
        location=f"{path}:{site.line}",
        preview=preview,
        details=lambda: f"{rewrite.id} ({rewrite.safety.value}): {rewrite.title}\n\n{rewrite.doc()}\n\nsite:\n{site.code}",
    )


def rewrite_source(text: str, rewrites: Sequence[SourceRewrite], options: SourceOptions, decider: Decider,
                   path: str = "<string>") -> FileResult:
    """Run the catalog over one file's text, asking ``decider`` about every site; never raises on bad input."""
    result = FileResult(path, FileStatus.UNCHANGED, before=text, after=text)
    rewrites = [r for r in rewrites if r.active(options) and r.could_match(text)]
    if rewrites and any(r.modules for r in rewrites):
        imported = Names.of(text)  # import lines only: nothing else is parsed yet
        rewrites = [r for r in rewrites if r.imported(imported, text)]
    if not rewrites:
        result.status = FileStatus.SKIPPED
        return result
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        result.status, result.error = FileStatus.FAILED, f"does not parse: {str(exc).splitlines()[0]} (line {exc.raw_line})"
        return result
    except RecursionError:
        result.status, result.error = FileStatus.FAILED, "does not parse: nested too deeply"
        return result
    decided: dict[str, Decision] = {}
    code = text
    # Rewrites run on the text as earlier rewrites left it; notes and prompts name lines of the file on disk.
    origin = list(range(1, text.count("\n") + 2))  # line of the current code -> line of ``text``

    def located(site: Site) -> Site:
        return replace(site, line=origin[min(max(site.line, 1), len(origin)) - 1])

    for _ in range(MAX_ROUNDS):
        changed = False
        names = Names.of(code)  # one import table per version of the tree
        shared = Shared(module)  # and one metadata wrapper and analysis memo
        for rewrite in rewrites:
            if not rewrite.could_match(code) or not rewrite.imported(names, code):
                continue
            current, current_code, current_names, current_shared = module, code, names, shared

            def select(found: Site, current: cst.Module = current, rewrite: SourceRewrite = rewrite,
                       current_code: str = current_code, current_names: Names = current_names,
                       current_shared: Shared = current_shared) -> bool:
                """Decide a site the moment the pass finds it: one pass both finds and applies."""
                site = located(found)
                if site.key in decided:  # rejected before (accepted ones are applied and do not match again)
                    return decided[site.key] is Decision.ACCEPT

                def preview() -> str:
                    one = run_pass(rewrite, current, options, lambda s: s.key == site.key, path, current_names,
                                   current_code, current_shared).module
                    return unified(current_code, one.code, path)

                proposal = proposal_for(site, path, rewrite, preview)
                decision = decided[site.key] = decider(proposal)
                why = "" if decision is Decision.ACCEPT else why_not(decider, proposal)
                result.edits.append(Edit(site, decision is Decision.ACCEPT, why))
                return decision is Decision.ACCEPT

            done = run_pass(rewrite, module, options, select, path, names, code, shared)
            for site in done.sites:
                if site.safety is Safety.DISPLAY_ONLY and site.key not in decided:
                    decided[site.key] = Decision.REJECT
                    result.edits.append(Edit(located(site), False, "display-only: no safe automatic fix"))
            new_code = done.module.code if done.module is not module else code
            if new_code != code:
                origin = [origin[line - 1] for line in line_origins(code, new_code)]
                module, code, changed = done.module, new_code, True
                names, shared = Names.of(code), Shared(done.module)
        if not changed or stopped(decider):
            break
    result.after = code
    result.status = FileStatus.CHANGED if result.after != text else FileStatus.UNCHANGED
    return result


def line_origins(before: str, after: str) -> list[int]:
    """For each line of ``after`` (1-based), the line of ``before`` it comes from: its own line where the text is
    unchanged, the replaced line where a block was rewritten, the following line where lines were inserted."""
    old, new = before.splitlines(), after.splitlines()
    last = max(len(old), 1)
    origins: list[int] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "delete":
            continue
        for k in range(j2 - j1):
            line = i1 + k if tag == "equal" else i1 + min(k, max(i2 - i1 - 1, 0))
            origins.append(min(line + 1, last))
    return origins + [last] * (after.count("\n") + 1 - len(origins))  # a trailing line splitlines() does not count


def discover(paths: Sequence[Path]) -> Iterator[Path]:
    """Python files under the given paths, sorted, skipping VCS, virtualenv and cache folders."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(files):
                if name.endswith((".py", ".pyi")):
                    yield Path(root) / name


def write_atomic(path: Path, before: str, after: str) -> None:
    """Replace a file's text by one rename, only if it still holds ``before``; keeps its mode."""
    if path.read_text(encoding="utf-8") != before:
        raise OSError("the file changed while it was being rewritten; run again")
    mode = path.stat().st_mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".repair", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(after)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_file(path: Path, rewrites: Sequence[SourceRewrite], options: SourceOptions, decider: Decider,
                 write: bool, named: bool = False) -> FileResult:
    """Read, rewrite and (with ``write``) save one file. Never raises for a bad file: it becomes ``failed``.

    A file the user ``named`` on the command line is always checked for syntax, even when the pre-filter skips it;
    files found by walking a folder are not (parsing a whole tree is what the pre-filter saves)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(name, FileStatus.FAILED, error=f"cannot read: {exc.strerror or exc}")
    quick = [r for r in rewrites if r.active(options) and any(t.encode() in raw for t in r.triggers)]
    if not quick:
        error = _syntax_error(raw) if named else ""
        return FileResult(name, FileStatus.FAILED, error=error) if error else FileResult(name, FileStatus.SKIPPED)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileResult(name, FileStatus.FAILED, error="not UTF-8 text")
    start = len(decider.entries) if isinstance(decider, Recorder) else 0
    result = rewrite_source(text, rewrites, options, decider, name)
    if isinstance(decider, Recorder):  # a worker's recorder is its own copy: the entries travel with the result
        result.proposals = list(decider.entries[start:])
    if write and result.status is FileStatus.CHANGED:
        try:
            write_atomic(path, text, result.after)
            result.written = True
        except OSError as exc:
            result.status, result.error = FileStatus.FAILED, f"cannot write: {exc.strerror or exc}"
    return result


def _syntax_error(raw: bytes) -> str:
    """Why the bytes are not Python, or "" (CPython's own parser: far cheaper than building a libcst tree)."""
    try:
        ast.parse(raw)
    except SyntaxError as exc:
        return f"does not parse: {exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, nesting
        return f"does not parse: {exc}"
    return ""


@dataclass
class Summary:
    """Counts for the closing line."""

    scanned: int = 0
    files: Counter[FileStatus] = field(default_factory=Counter)  # files by status
    applied: int = 0
    not_applied: int = 0
    warnings: int = 0
    bytes: int = 0

    @property
    def failed(self) -> int:
        """Files that failed (unreadable, not parsing, not written): they make the exit code 1."""
        return self.files[FileStatus.FAILED]

    def add(self, result: FileResult, size: int) -> None:
        """Count one file's result; ``size`` is its length in bytes."""
        self.scanned += 1
        self.bytes += size
        self.files[result.status] += 1
        for edit in result.edits:
            if edit.site.safety is Safety.DISPLAY_ONLY:
                self.warnings += 1
            elif edit.applied:
                self.applied += 1
            else:
                self.not_applied += 1

    def line(self) -> str:
        files = self.files
        return (f"{count(self.scanned, 'file')} scanned: {files[FileStatus.CHANGED]} changed, "
                f"{files[FileStatus.UNCHANGED]} unchanged, {files[FileStatus.SKIPPED]} skipped by the pre-filter, "
                f"{self.failed} failed; fixes: {self.applied} accepted, {self.not_applied} not accepted, "
                f"{count(self.warnings, 'warning')}")


_WORKER: tuple[Sequence[SourceRewrite], SourceOptions, Decider, bool] | None = None


def _init_worker(rewrites: Sequence[SourceRewrite], options: SourceOptions, decider: Decider, write: bool) -> None:
    global _WORKER
    _WORKER = (rewrites, options, decider, write)


def _work(job: tuple[Path, bool]) -> tuple[FileResult, int]:
    assert _WORKER is not None
    path, named = job
    result = process_file(path, *_WORKER, named=named)
    return _slim(result), _size(path)


def _slim(result: FileResult) -> FileResult:
    """Unchanged files need not carry their text back from a worker."""
    if result.status is not FileStatus.CHANGED:
        result.before = result.after = ""
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def run_codemod(paths: Sequence[Path], rewrites: Sequence[SourceRewrite], options: SourceOptions, decider: Decider,
                write: bool, jobs: int = 1, on_result: Callable[[FileResult], None] | None = None,
                named: Collection[Path] | None = None) -> Summary:
    """Run over every file; ``on_result`` sees each file's result in path order. ``jobs`` > 1 uses processes
    (only for deciders that need no terminal: automatic and plan file). ``named``: the files the user named
    (default: the files in ``paths``), which are checked for syntax even when the pre-filter skips them."""
    files = list(discover(paths))
    named = set(named) if named is not None else {path for path in paths if path.is_file()}
    summary = Summary()
    if jobs > 1 and len(files) > 1:
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                 initargs=(tuple(rewrites), options, decider, write)) as pool:
            jobs_ = [(path, path in named) for path in files]
            for result, size in pool.map(_work, jobs_, chunksize=max(1, min(64, len(files) // (jobs * 8) or 1))):
                summary.add(result, size)
                if on_result:
                    on_result(result)
        return summary
    for path in files:
        if stopped(decider):
            result = FileResult(str(path), FileStatus.UNCHANGED)  # quit: files not reached are left as they are
        else:
            result = process_file(path, rewrites, options, decider, write, named=path in named)
        summary.add(result, _size(path))
        if on_result:
            on_result(_slim(result))
    return summary


class SourceOffers:
    """Source edits offered beside the model fixes (``repair fix --source DIR``).

    The sites are found once, up front, for the findings of the first diagnosis. Each site is offered
    right after the model fix for the same finding kind (and the rest at the end), decided by the same
    decider, and the accepted ones become one patch; the user's files are never written by ``fix``.
    """

    def __init__(self, root: Path, rewrites: Sequence[SourceRewrite], options: SourceOptions,
                 locations: frozenset[tuple[str, int]] = frozenset()) -> None:
        self.root = root
        self.rewrites = tuple(rewrites)
        self.options = options
        self.texts: dict[str, str] = {}
        self.pending: list[tuple[Proposal, frozenset[str]]] = []  # proposal, finding ids it answers
        self.records: list[dict[str, str]] = []
        self.accepted: set[str] = set()
        by_id = {r.id: r for r in self.rewrites}
        for path in discover([root]):
            relative = os.path.relpath(path)
            name = relative if not relative.startswith("..") else str(path)  # patch paths that `git apply` takes from here
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            result = rewrite_source(text, self.rewrites, options, AutoDecider(yes=False), name)
            self.texts[name] = text
            for edit in result.edits:
                rewrite = by_id[edit.site.rewrite_id]
                at_error = (os.path.realpath(path), edit.site.line) in locations
                proposal = proposal_for(edit.site, name, rewrite, functools.partial(self._preview, name, edit.site.key))
                if at_error:
                    proposal = replace(proposal, title=proposal.title + " [at the converter's error location]")
                self.pending.append((proposal, frozenset(k.value for k in rewrite.answers)))
        self.pending.sort(key=lambda item: "[at the converter" not in item[0].title)  # located sites first

    def _preview(self, name: str, key: str) -> str:
        return self._patch({f"{name}::{key}"}, only=name)

    def offer(self, decider: Decider, finding_id: str | None = None) -> None:
        """Offer the pending sites answering ``finding_id`` (all of them when None)."""
        keep = []
        for proposal, answers in self.pending:
            if finding_id is not None and finding_id not in answers:
                keep.append((proposal, answers))
                continue
            if proposal.safety is Safety.DISPLAY_ONLY:
                decision = Decision.REJECT
                why = "display-only: no safe automatic fix"
            else:
                decision = decider(proposal)
                why = "" if decision is Decision.ACCEPT else why_not(decider, proposal)
            if decision is Decision.ACCEPT:
                self.accepted.add(proposal.id)
            self.records.append({"id": proposal.id, "rewrite": proposal.rewrite_id, "safety": proposal.safety.value,
                                 "location": proposal.location, "title": proposal.title, "decision": decision.value,
                                 "why": why})
        self.pending = keep

    def patch(self) -> str:
        """One unified diff of every accepted edit, relative to the source root's files as they are."""
        return self._patch(self.accepted)

    def _patch(self, accepted: set[str], only: str | None = None) -> str:
        if not accepted:
            return ""
        chunks = []
        decider = PlanDecider({key: Decision.ACCEPT for key in accepted})
        for name, text in self.texts.items():
            if only is not None and name != only:
                continue
            if not any(key.startswith(name + "::") for key in accepted):
                continue
            result = rewrite_source(text, self.rewrites, self.options, decider, name)
            chunks.append(unified(text, result.after, name))
        return "".join(chunks)
