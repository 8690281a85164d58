"""README's claims that need no model: its usage lines list every flag each command takes (read from the live
typer app), its catalog tables are what `repair rewrites` lists (tools/readme_catalog.py), every `make` target it
names exists, its links resolve, and no user-facing text cites a file users do not have (ATLAS.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from repair.cli import app
from tools.readme_catalog import REGENERATE, missing_prose, render

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _usage() -> dict[str, str]:
    """The README usage block, one text per command ("" for the root `repair` lines), comments dropped."""
    section = _section(README, "Usage")
    block = section[section.index("```sh\n") + 6:]
    block = block[:block.index("```")]
    usage: dict[str, str] = {}
    command = None
    for line in block.splitlines():
        line = line.split("#", 1)[0]
        if line.startswith("repair "):
            word = line.split()[1]
            command = "" if word.startswith("-") else word
        if command is None:
            raise AssertionError(f"README usage: a continuation line before any `repair` line: {line!r}")
        usage[command] = usage.get(command, "") + " " + line
    return usage


def _options(command: Any) -> set[str]:
    """Every spelling of every visible option of a command, --help excepted (typer vendors click: duck-typed)."""
    names: set[str] = set()
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names - {"--help"}


GROUP: Any = typer.main.get_command(app)
COMMANDS: dict[str, Any] = dict(GROUP.commands)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_usage_lists_every_flag_of_the_command(name: str) -> None:
    usage = _usage()
    assert name in usage, f"README's usage block has no `repair {name}` line"
    given = set(FLAG.findall(usage[name]))
    missing = sorted(_options(COMMANDS[name]) - given)
    assert not missing, f"README usage of `repair {name}` lacks {missing}"
    unknown = sorted(given - _options(COMMANDS[name]))
    assert not unknown, f"README usage of `repair {name}` names flags it does not take: {unknown}"


def test_usage_lists_the_root_options() -> None:
    usage = _usage()
    missing = sorted(_options(GROUP) - set(FLAG.findall(usage.get("", ""))))
    assert not missing, f"README usage lacks `repair {missing[0]}`"
    assert set(_usage()) - {""} <= set(COMMANDS), "README usage names a command the app does not have"


def test_every_readme_command_uses_real_flags() -> None:
    """Each `repair COMMAND ...` line of every README code block (examples included) names only flags COMMAND takes."""
    wrong = []
    for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", README, re.M | re.S):
        for line in block.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) < 2 or words[0] != "repair" or words[1] not in COMMANDS:
                continue
            unknown = set(FLAG.findall(" ".join(words[2:]))) - _options(COMMANDS[words[1]])
            # metavars and values are not flags: only words that start with a dash are looked at
            if unknown:
                wrong.append(f"{line.strip()!r}: {sorted(unknown)}")
    assert not wrong, "README commands with flags their command does not take:\n" + "\n".join(wrong)


def test_catalog_tables_match_the_catalog() -> None:
    assert render(README) == README, f"README's catalog tables differ from `repair rewrites`: run `{REGENERATE}`"
    assert not missing_prose(README), f"README's catalog tables have no description for {missing_prose(README)}"


def test_every_make_target_readme_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    named = set(re.findall(r"`make ([\w-]+)", README)) | set(re.findall(r"^make ([\w-]+)", README, re.M))
    assert named, "README names no make target: the pattern is wrong"
    assert named <= targets, f"README names make targets the Makefile lacks: {sorted(named - targets)}"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("doc", ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))])
def test_links_resolve(doc: str) -> None:
    """Relative links name files in the repository, and #anchors name headings of the file they point into."""
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), f"{doc} links to {file}, which does not exist"
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{doc} links to #{anchor}, no heading of {linked.name} has it"


def _user_texts() -> dict[str, str]:
    """Everything a user reads: README, docs/, every command's help, every rewrite's `repair rewrites ID` text."""
    from rewrites import CATALOG
    from rewrites.source import SOURCE_CATALOG

    texts = {"README.md": README}
    texts.update({str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")})
    texts["repair --help"] = GROUP.get_help(GROUP.context_class(GROUP, info_name="repair"))
    for name, command in COMMANDS.items():
        texts[f"repair {name} --help"] = command.get_help(command.context_class(command, info_name=name))
    for rewrite in [*CATALOG, *SOURCE_CATALOG]:
        texts[f"repair rewrites {rewrite.id}"] = rewrite.doc() + "\n" + rewrite.title
    return texts


def test_no_user_text_cites_atlas() -> None:
    """ATLAS.md is a developers' file outside the repository: users are pointed at docs/facts.md instead."""
    citing = sorted(where for where, text in _user_texts().items() if "ATLAS" in text)
    assert not citing, f"these cite ATLAS.md, which users do not have (cite docs/facts.md): {citing}"
