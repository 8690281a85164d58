"""The command line and the composition root: parses flags, wires the catalogs into the engine, prints.

The only module that talks to the user, and the only one in repair/ that imports the catalogs (``rewrites``,
``rewrites.source``): ``_catalog`` builds the ``Catalog`` the engine is given. Nothing here imports TensorFlow at
module level: ``repair --help`` stays fast.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import os
import shlex
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import Field, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperArgument, TyperCommand

from repair.core import wire
from repair.core.decide import AutoDecider, Decider, Decision, Proposal, ProposalKind, Recorder
from repair.core.errors import BadInput, ExitCode, Refused, RepairError, environment_problem
from repair.core.options import (
    IO_TYPES,
    IoHint,
    Options,
    Quantize,
    QuantMode,
    Side,
    Target,
    Tolerance,
    parse_budget,
    parse_targets,
)
from repair.core.request import parse_request
from repair.core.safety import Safety
from repair.core.text import count, terminal, terminal_block

if TYPE_CHECKING:
    from repair.batch.local import ModelOutcome
    from repair.core.findings import Finding
    from repair.fix.quantize import QuantOutcome
    from repair.fix.result import RunResult
    from repair.fix.rewrite import Catalog
    from repair.targets import TargetReport


class _Argument(TyperArgument):
    """An argument shown as its metavar alone, as click and man pages do (``MODEL``, ``[ID]``, ``PATH...``): typer 0.29
    writes ``{MODEL}`` in the usage line and adds a type, ``MODEL <path>``, ``PATH... <list[Path]>``, in the list."""

    def _usage_display_name(self) -> str:
        return self.metavar if self.metavar is not None else super()._usage_display_name()

    def display_type_rich(self, ctx: Any) -> str | None:  # Any: typer's vendored click Context is private
        return None if self.metavar is not None else super().display_type_rich(ctx)


class _Command(TyperCommand):
    """Every command: its arguments are shown by ``_Argument`` (typer builds them itself, so the class is swapped
    here; an ``_Argument`` is a TyperArgument with two display methods overridden)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _Argument

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # plain click help: rich's help renderer costs ~0.25 s of start-up (bench/bench.py)
    no_args_is_help=True,
    help="Diagnose and repair TensorFlow models that fail to convert to TFLite or to serve.",
)
# Everything printed from a model, a file or a message goes through repair.core.text.terminal(); emoji codes are off
# so a key like ':warning:' is shown as written.
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

_BAD = "bad input or usage: a missing path, an unreadable model, a bad flag value (one line says which)"
_BUG = "internal error: a bug in repair (one line; REPAIR_DEBUG=1 shows the traceback)"
# Every exit code each command can return and what it means there (repair.core.errors.ExitCode, and batch's signal
# codes). ``_exits`` appends a command's list to its --help; tests/unit/test_cli_help.py holds the lists to ExitCode.
EXITS: dict[str, tuple[tuple[str, str], ...]] = {
    "diagnose": (("0", "nothing blocks deployment (on every --target)"),
                 ("1", "blocking findings (a failing --target included)"),
                 ("2", _BAD),
                 ("4", _BUG + "; or the process died outside a conversion")),
    "fix": (("0", "repaired (or nothing to fix), verified and published to --out"),
            ("1", "refused: a finding the catalog cannot fix, or its fix was not accepted; nothing published"),
            ("2", _BAD + "; an existing --out without --force, an --out inside the input"),
            ("3", "verification failed: fixes applied but the gate failed; nothing written to --out"),
            ("4", _BUG + "; or the process died outside a conversion")),
    "codemod": (("0", "done (files changed or not)"),
                ("1", "some files could not be read, parsed or written"),
                ("2", _BAD),
                ("4", _BUG)),
    "batch": (("0", "every model repaired or nothing to fix"),
              ("1", "some models did not end repaired or nothing-to-fix (see OUT/summary.md)"),
              ("2", "bad input: ZOO missing or without models, OUT inside ZOO, OUT a non-empty folder that is not a "
                    "batch's output, a bad fix flag, --plan-in, --engine ray without ray installed, --ray-* without "
                    "--engine ray, a --ray-address that cannot be reached"),
              ("4", _BUG),
              ("128+N", "stopped by signal N (130: Ctrl-C, 143: SIGTERM, 129: SIGHUP); the state keeps what finished: "
                        "run the same command to resume")),
    "rewrites": (("0", "printed"),
                 ("2", "no rewrite with that id"),
                 ("4", _BUG)),
}


def _exits(command: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Append the command's exit codes (EXITS) to its docstring, which typer shows as its --help; the ``\\b`` line
    keeps click from re-wrapping the list into one paragraph."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        codes = "\n".join(textwrap.fill(meaning, 78, initial_indent=f"  {code:<6} ", subsequent_indent=" " * 9,
                                        break_on_hyphens=False)
                          for code, meaning in EXITS[command])
        fn.__doc__ = f"{inspect.cleandoc(fn.__doc__ or '')}\n\n\b\nExit codes:\n{codes}"
        return fn

    return decorate


def _version(value: bool) -> None:
    """``repair --version``: the installed package's version (its metadata; TensorFlow is not imported)."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("repair")
        except PackageNotFoundError:
            number = "unknown (not installed as a package)"
        print(f"repair {number}")
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print repair's version and exit.")] = False) -> None:
    """Diagnose and repair TensorFlow models that fail to convert to TFLite or to serve."""

# The model flags' options, one alias each; ModelFlags (below) declares them once for diagnose, fix and batch.
PinOpt = Annotated[list[str] | None, typer.Option(
    "--pin", metavar="NAME=DIMS", help="Pin an input's shape: NAME=1,224,224,3; -1 keeps a dim unknown (repeatable).")]
SampleOpt = Annotated[Path | None, typer.Option("--sample", metavar="FILE.npz",
        help="A .npz of real inputs keyed by input name.")]
TargetOpt = Annotated[str, typer.Option(
    "--target", metavar="TARGET[,TARGET...]",
    help="Where the model must work, comma-separated: tflite (always checked), tflite-strict, serving, gpu, xnnpack, "
    "micro, runtime=X.Y. Each adds its own check to diagnosis and to the gate.")]
AcceptOpt = Annotated[str | None, typer.Option(
    "--accept-fallback", metavar="TARGET[,TARGET...]",
    help="Let nodes a target refuses stay on the CPU (gpu, xnnpack): the target's check then warns instead of "
    "blocking, and the report lists those nodes.")]
KeysOpt = Annotated[str | None, typer.Option(
    "--input-keys", metavar="KEY[,KEY...]",
    help="The input keys clients send, comma-separated, in the order diagnose lists the inputs.")]
RenameOpt = Annotated[list[str] | None, typer.Option(
    "--rename", metavar="OLD=NEW", help="Rename a serving key: OLD=NEW (inputs or outputs; repeatable).")]
RequestOpt = Annotated[Path | None, typer.Option(
    "--request", metavar="FILE.json", help="A sample TF Serving REST request body (JSON) to take input keys from.")]
HintOpt = Annotated[list[str] | None, typer.Option(
    "--io-hint", metavar="SIDE:KEY=TENSOR", help="TF1 graphs: inputs:KEY=tensor:0 or outputs:KEY=tensor:0 (repeatable).")]
AtolOpt = Annotated[float, typer.Option("--atol", metavar="ATOL", help="Absolute parity tolerance.")]
RtolOpt = Annotated[float, typer.Option("--rtol", metavar="RTOL", help="Relative parity tolerance.")]
SignatureOpt = Annotated[str | None, typer.Option("--signature", metavar="KEY",
        help="Which named signature becomes serving_default.")]
UnsafeLoadOpt = Annotated[bool, typer.Option(
    "--unsafe-load", help="Let Keras deserialize code (Lambda layers). Only for files you trust.")]
AllowEffectsOpt = Annotated[bool, typer.Option(
    "--allow-side-effects", help="Run graphs that hold ops with effects outside the model (file I/O, py_func, printing to a "
    "file). Only for models you trust.")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Seed for generated parity inputs.")]
BatchOpt = Annotated[int, typer.Option("--batch", metavar="N",
        help="Batch size used for unknown batch dimensions in parity inputs.")]
QuantizeOpt = Annotated[str | None, typer.Option(
    "--quantize", metavar="MODE",
    help="Publish a quantized .tflite proven within --budget on held-out samples: dynamic (int8 weights), float16, "
    "int8 (full integer; keeps the most sensitive layers float when the budget needs it), int16x8.")]
IoOpt = Annotated[str | None, typer.Option(
    "--io", metavar="DTYPE", help="--quantize int8: the dtype of the model's inputs and outputs: float, int8 or uint8.")]
CalibrationOpt = Annotated[Path | None, typer.Option(
    "--calibration", metavar="FILE.npz",
    help="Representative inputs for --quantize: one array per input, keyed by input name, samples along axis 0 (the "
    "last quarter is held out to measure the budget).")]
CalibrationSamplesOpt = Annotated[int | None, typer.Option(
    "--calibration-samples", metavar="N",
    help="Calibrate on N generated samples instead of a file: proves the mechanics work, not accuracy on real data.")]
BudgetOpt = Annotated[list[str] | None, typer.Option(
    "--budget", metavar="[OUTPUT:]METRIC=LIMIT",
    help="Accuracy the quantized model must keep against the float original on held-out samples: max_abs=0.05, "
    "cosine=0.999, top1=0.99 (comma-separated or repeated; default cosine=0.99 for int8).")]


YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y", help="Accept safe fixes without asking (the default unless -i or --plan-in; with -i, ask only about "
    "unsafe ones).")]
UnsafeFixesOpt = Annotated[bool, typer.Option(
    "--unsafe-fixes", help="Also accept unsafe fixes (they change the serving contract or the numbers within tolerance).")]
InteractiveOpt = Annotated[bool, typer.Option(
    "--interactive", "-i", help="Ask about every fix: [y]es / [n]o / [a]ll remaining / [q]uit / [d]etails / ?")]
PlanOutOpt = Annotated[Path | None, typer.Option(
    "--plan-out", metavar="FILE.json",
    help="Write every proposed fix and its decision to this JSON plan (edit it, then use --plan-in).")]
PlanInOpt = Annotated[Path | None, typer.Option(
    "--plan-in", metavar="FILE.json",
    help="Apply exactly the decisions of this plan file (fixes it does not list are rejected).")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress lines on stderr (by default each stage's name and the time since the start).")]

PROMPT_HELP = """y - accept this fix
n - reject this fix
a - accept this fix and every remaining one (unsafe ones too)
q - quit: reject this fix and every remaining one (what was accepted so far is kept)
d - show details (the finding, the rewrite's documentation, the site)
? - this help
Enter takes the default: yes for safe and verified fixes, no for unsafe ones."""


class Prompt:
    """The interactive decider: shows each fix and what it changes, then asks. The only code that prompts."""

    def __init__(self, yes: bool = False) -> None:
        self.auto_safe = yes  # --yes with -i: ask only about unsafe fixes
        self.accept_rest = False
        self.stopped = False
        self.asked = 0

    def __call__(self, proposal: Proposal) -> Decision:
        if self.stopped:
            return Decision.REJECT
        if self.accept_rest or (self.auto_safe and proposal.safety.by_default):
            return Decision.ACCEPT
        self.asked += 1
        colour = "green" if proposal.safety.by_default else "yellow"
        out.print(f"\n[bold]fix {self.asked}[/] ({proposal.kind.value}) [bold]{terminal(proposal.rewrite_id)}[/] "
                  f"[{colour}]{proposal.safety.value}[/]  {terminal(proposal.location)}", highlight=False)
        out.print(f"  {terminal(proposal.title)}", highlight=False)
        model_fix = proposal.kind is ProposalKind.MODEL
        with err.status("applying it in scratch to show what it changes...") if model_fix else nullcontext():
            preview = proposal.preview()
        _print_diff_or_text(preview)
        default = "y" if proposal.safety.by_default else "n"
        choices = "[Y]es / [n]o" if default == "y" else "[y]es / [N]o"
        while True:
            out.print(f"Apply this fix? {choices} / [a]ll remaining / [q]uit / [d]etails / ? ", end="", highlight=False,
                      markup=False)
            line = sys.stdin.readline()
            if not line:  # end of input: nobody is there to answer
                self.stopped = True
                return Decision.REJECT
            answer = line.strip().lower()[:1] or default
            if answer == "y":
                return Decision.ACCEPT
            if answer == "n":
                return Decision.REJECT
            if answer == "a":
                self.accept_rest = True
                return Decision.ACCEPT
            if answer == "q":
                self.stopped = True
                return Decision.REJECT
            if answer == "d":
                out.print(terminal_block(proposal.details()), highlight=False)
            else:
                out.print(PROMPT_HELP, highlight=False, markup=False)

    def why_not(self, proposal: Proposal) -> str:
        return "quit before it was accepted" if self.stopped else "rejected at the prompt"

    def why_yes(self, proposal: Proposal) -> str:
        return "accepted at the prompt"


FIX_MARKS = {"applied": "[green]applied[/]", "rejected": "[yellow]rejected[/]", "failed": "[red]failed[/]"}


def _plan_line(plan: Path, fixes: int) -> str:
    """Where the plan went and how to replay it (paths escaped: they are the user's)."""
    return (f"plan: {terminal(plan)} ({count(fixes, 'fix', 'fixes')}; edit the decisions, then rerun with --plan-in "
            f"{terminal(shlex.quote(str(plan)))})")


def _print_diff_or_text(text: str) -> None:
    # Diffs quote the model's keys and the user's code: escaped (rich keeps ESC sequences even with markup=False).
    for line in text.splitlines():
        added = line.startswith("+") and not line.startswith("+++")
        removed = line.startswith("-") and not line.startswith("---")
        style = "green" if added else "red" if removed else None
        out.print(f"  {terminal_block(line)}", style=style, highlight=False)


def _decider(yes: bool, unsafe_fixes: bool, interactive: bool, plan_in: Path | None, command: str, digest: Callable[[], str],
             consented: frozenset[str] = frozenset()) -> Decider:
    """Pick how fixes are decided: a plan file, the prompt, or the flags. A run without a terminal never prompts."""
    if plan_in is not None:
        if interactive:
            raise BadInput("--plan-in and --interactive both decide the fixes; give one")
        from repair.core.decide import read_plan

        return read_plan(plan_in, command, digest())[0]
    if interactive:
        if not sys.stdin.isatty():
            raise BadInput("--interactive needs a terminal on stdin; decide with --yes/--unsafe-fixes or --plan-in instead")
        return Prompt(yes=yes)
    return AutoDecider(yes=True, unsafe=unsafe_fixes, consented=consented)


def unified_example(before: str, after: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), "before", "after"))


def _pairs(values: list[str] | None, flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise BadInput(f"{flag} {value!r}: expected NAME=VALUE")
        pairs.append((key, rest))
    return pairs


def _pins(values: list[str] | None) -> dict[str, tuple[int | None, ...]]:
    pins: dict[str, tuple[int | None, ...]] = {}
    for name, dims in _pairs(values, "--pin"):
        try:
            numbers = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise BadInput(f"--pin {name}={dims}: dimensions must be integers, e.g. {name}=1,224,224,3") from None
        if any(d == 0 or d < -1 for d in numbers):
            raise BadInput(f"--pin {name}={dims}: dimensions must be positive, or -1 to keep one unknown")
        pins[name] = tuple(None if d == -1 else d for d in numbers)
    return pins


def _hints(values: list[str] | None) -> tuple[IoHint, ...]:
    hints = []
    for value in values or []:
        side, sep, rest = value.partition(":")
        key, eq, tensor = rest.partition("=")
        if side not in {s.value for s in Side} or not sep or not eq or not key or not tensor:
            raise BadInput(f"--io-hint {value!r}: expected inputs:KEY=tensor:0 or outputs:KEY=tensor:0")
        hints.append(IoHint(Side(side), key, tensor))
    return tuple(hints)


def flag_name(field_name: str) -> str:
    """The option a ModelFlags field is given as: ``input_keys`` is ``--input-keys`` (tests/e2e/test_flags.py holds it)."""
    return "--" + field_name.replace("_", "-")


@dataclass(frozen=True)
class ModelFlags:
    """The model flags, declared once for ``diagnose``, ``fix`` and ``batch``: what the model is and how to check it.

    Each field's annotation is its typer option and its default the option's default; the field order is the order
    ``--help`` lists them in. ``@model_flags`` puts the fields into a command's signature where the command has its
    ``flags: ModelFlags`` parameter and hands the command one ModelFlags. So a new model flag is one field here (and
    its reading in ``options``): all three commands get it, ``diagnose``'s next command carries it and ``batch``
    forwards it to every ``repair fix`` child.
    """

    target: TargetOpt = "tflite"
    accept_fallback: AcceptOpt = None
    pin: PinOpt = None
    sample: SampleOpt = None
    input_keys: KeysOpt = None
    rename: RenameOpt = None
    request: RequestOpt = None
    io_hint: HintOpt = None
    signature: SignatureOpt = None
    unsafe_load: UnsafeLoadOpt = False
    allow_side_effects: AllowEffectsOpt = False
    seed: SeedOpt = 0
    batch: BatchOpt = 2
    atol: AtolOpt = 1e-5
    rtol: RtolOpt = 1e-4
    quantize: QuantizeOpt = None
    io: IoOpt = None  # None: float (a default batch children are not given: earlier batch states resume)
    calibration: CalibrationOpt = None
    calibration_samples: CalibrationSamplesOpt = None
    budget: BudgetOpt = None

    def options(self) -> Options:
        """The run's Options, every flag parsed and checked (a bad value is BadInput naming its flag: exit 2)."""
        if self.sample is not None and not self.sample.is_file():
            raise BadInput(f"--sample {self.sample}: no such file")
        targets, runtime = _targets(self.target)
        return Options(
            targets=targets,
            runtime=runtime,
            accept_fallback=_fallbacks(self.accept_fallback, targets, self.quantize is not None),
            pins=_pins(self.pin),
            sample=self.sample,
            io_hints=_hints(self.io_hint),
            input_keys=tuple(k.strip() for k in self.input_keys.split(",") if k.strip()) if self.input_keys else (),
            renames=dict(_pairs(self.rename, "--rename")),
            request=parse_request(self.request) if self.request else (),
            signature=self.signature,
            tolerance=Tolerance(self.atol, self.rtol),
            seed=self.seed,
            batch=self.batch,
            unsafe_load=self.unsafe_load,
            allow_side_effects=self.allow_side_effects,
            quantize=self._quantize(targets),
        )

    def _quantize(self, targets: frozenset[Target]) -> Quantize | None:
        """--quantize and its companions, checked together (a companion without --quantize is a mistake, not a no-op)."""
        companions = [flag for flag, given in (("--io", self.io is not None), ("--calibration", self.calibration is not None),
                                               ("--calibration-samples", self.calibration_samples is not None),
                                               ("--budget", bool(self.budget))) if given]
        if self.quantize is None:
            if companions:
                raise BadInput(f"{companions[0]} needs --quantize MODE (dynamic, float16, int8 or int16x8)")
            return None
        try:
            mode = QuantMode(self.quantize.strip().lower())
        except ValueError:
            raise BadInput(f"--quantize {self.quantize}: not a mode (dynamic, float16, int8, int16x8)") from None
        io = (self.io or "float").strip().lower()
        if io not in IO_TYPES:
            raise BadInput(f"--io {self.io}: not one of {', '.join(IO_TYPES)}")
        if io != "float" and mode is not QuantMode.INT8:
            raise BadInput(f"--io {io}: integer inputs and outputs need --quantize int8 (this run quantizes to {mode.value})")
        if self.calibration is not None and self.calibration_samples is not None:
            raise BadInput("--calibration and --calibration-samples both give calibration data; give one")
        if self.calibration is not None and not self.calibration.is_file():
            raise BadInput(f"--calibration {self.calibration}: no such file")
        samples = self.calibration_samples or 0
        if self.calibration_samples is not None and samples < 2:
            raise BadInput(f"--calibration-samples {self.calibration_samples}: give at least 2 samples")
        if mode.calibrated and self.calibration is None and not samples:
            raise BadInput(f"--quantize {mode.value} calibrates activation ranges on representative inputs: give "
                           "--calibration FILE.npz (real inputs), or --calibration-samples N to accept generated ones "
                           "(which prove the mechanics, not the accuracy on real data)")
        try:
            budget = parse_budget(tuple(self.budget or ()))
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        return Quantize(mode, io, self.calibration, samples, budget=budget)

    def given(self) -> list[str]:
        """The flags the user gave (those not at their default), as ``repair fix`` arguments in declaration order:
        what ``diagnose``'s next command carries, so that it does what it says."""
        return [arg for f in fields(self) for arg in self._args(f, defaults=False, absolute=False)]

    def forwarded(self) -> tuple[list[str], list[str]]:
        """The arguments a ``batch`` child gets: (options with a value, switches), each in declaration order.

        Every option with a value is given, defaults too, so the state file records exactly what ran; paths are
        absolute because a child (on a Ray worker) may run in another directory.
        """
        switches = [f for f in fields(self) if isinstance(f.default, bool)]
        valued = [f for f in fields(self) if f not in switches]
        return ([arg for f in valued for arg in self._args(f, defaults=True, absolute=True)],
                [arg for f in switches for arg in self._args(f, defaults=True, absolute=True)])

    def _args(self, f: Field[Any], *, defaults: bool, absolute: bool) -> list[str]:
        value, flag = getattr(self, f.name), flag_name(f.name)
        if isinstance(value, bool):  # a switch (before int: a bool is an int)
            return [flag] if value else []
        if value is None or value == "" or (not defaults and value == f.default):
            return []
        if isinstance(value, list):  # repeatable
            return [arg for item in value for arg in (flag, str(item))]
        if isinstance(value, Path):
            return [flag, str(value.absolute() if absolute else value)]
        if isinstance(value, enum.Enum):
            return [flag, str(value.value)]
        return [flag, repr(value) if isinstance(value, float) else str(value)]


def _targets(text: str) -> tuple[frozenset[Target], tuple[int, int] | None]:
    try:
        return parse_targets(text)
    except ValueError as exc:
        raise BadInput(f"--target {text}: {exc}") from None


def _fallbacks(text: str | None, targets: frozenset[Target], quantized: bool = False) -> frozenset[Target]:
    """--accept-fallback: only targets that have a CPU to fall back to, and only ones asked for with --target; with
    --quantize, micro too (its float kernels run the float islands a quantized model keeps)."""
    if not text:
        return frozenset()
    accepted = set()
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        if word not in (Target.GPU.value, Target.XNNPACK.value) and not (quantized and word == Target.MICRO.value):
            raise BadInput(f"--accept-fallback {text}: {word!r} has no CPU fallback; only gpu and xnnpack do "
                           "(and micro with --quantize, for float islands)")
        if Target(word) not in targets:
            raise BadInput(f"--accept-fallback {text}: {word!r} is not one of the --target values")
        accepted.add(Target(word))
    return frozenset(accepted)


def model_flags(*, omit: tuple[str, ...] = ()) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate a command that takes ``flags: ModelFlags``: typer sees the ModelFlags fields (but ``omit``, which keep
    their defaults) as options in that parameter's place, and the command gets them as one ModelFlags.

    typer reads a command's parameters with ``inspect.signature``, which takes ``__signature__`` when it is set.
    """
    hints = get_type_hints(ModelFlags, include_extras=True)  # the Annotated option declarations, evaluated
    shown = [f for f in fields(ModelFlags) if f.name not in omit]
    keyword = inspect.Parameter.KEYWORD_ONLY  # typer calls a command with keywords only; no order rules to meet

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        if "flags" not in signature.parameters:
            raise TypeError(f"{command.__name__} has no 'flags: ModelFlags' parameter to put the model flags in")
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name == "flags":
                params += [inspect.Parameter(f.name, keyword, default=f.default, annotation=hints[f.name]) for f in shown]
            else:
                params.append(param.replace(kind=keyword))

        @functools.wraps(command)
        def run(**kwargs: Any) -> None:
            given = {f.name: kwargs.pop(f.name) for f in shown}
            command(**kwargs, flags=ModelFlags(**given))

        run.__dict__["__signature__"] = signature.replace(parameters=params)
        return run

    return decorate


def _guard(body: Callable[[], int]) -> int:
    """Run a command body: RepairError -> one line and its exit code; anything else -> exit 4, one line."""
    try:
        return body()
    except RepairError as exc:
        err.print(f"[bold red]repair:[/] {terminal(exc)}", highlight=False)  # one line, whatever a message quotes
        raise typer.Exit(int(exc.exit_code)) from None
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:  # last resort: never a traceback unless asked for
        problem = environment_problem(exc) if isinstance(exc, OSError) else None
        if problem is not None:  # a full disk, a read-only or unreadable path: the machine, not a bug (exit 2)
            err.print(f"[bold red]repair:[/] {terminal(problem)}", highlight=False)
            raise typer.Exit(int(problem.exit_code)) from None
        if os.environ.get("REPAIR_DEBUG"):
            raise
        first = terminal(str(exc).splitlines()[0]) if str(exc).strip() else ""
        err.print(f"[bold red]repair: internal error:[/] {type(exc).__name__}: {first} "
                  "(rerun with REPAIR_DEBUG=1 for the traceback)", highlight=False)
        raise typer.Exit(int(ExitCode.INTERNAL_ERROR)) from None


def _print_findings(findings: Sequence[Finding], console: Console) -> None:
    if not findings:
        console.print("[green]No findings.[/]")
        return
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        c = colours[f.severity.value]
        console.print(f"[{c}]{f.severity.value.upper():7}[/] [bold]{f.id}[/]  {terminal(f.title)}", highlight=False)
        console.print(f"         {terminal(f.explanation)}", highlight=False, style="dim")
        if f.fix:
            console.print(f"         fix: [green]{terminal(f.fix)}[/]", highlight=False)
        else:
            console.print(f"         no automatic fix: {terminal(f.no_fix_reason)}", highlight=False)


def _print_next(model: Path, findings: list[Finding], flags: list[str]) -> None:
    """One closing line: how many findings block, and the command to run next (with every flag given)."""
    from repair.core.findings import blocking

    blockers = blocking(findings)
    fixable = [f for f in findings if f.fix]
    stuck = [f.id for f in blockers if not f.fix]
    if not blockers and not fixable:
        out.print(f"[green]nothing blocks deployment[/] ({count(len(findings), 'note')})", highlight=False)
        return
    if stuck:
        out.print(f"{len(blockers)} blocking; the catalog cannot fix {terminal(', '.join(stuck))} (see above)",
                  highlight=False)
        return
    stem = model.name.removesuffix(model.suffix) if model.is_file() else model.name
    command = shlex.join(["repair", "fix", str(model), "--out", str(model.parent / (stem + "-fixed")), *flags])
    out.print(f"{len(blockers)} blocking; next: {terminal(command)}", highlight=False)


def _catalog(with_source: bool = False) -> Catalog:
    """The one wiring of the composition root: the engine gets the catalogs from here and never imports them.
    The source catalog (LibCST) is loaded only when ``fix --source`` offers source edits."""
    from repair.fix.rewrite import Catalog
    from rewrites import CATALOG

    if not with_source:
        return Catalog(CATALOG)
    from rewrites.source import SOURCE_CATALOG

    return Catalog(CATALOG, SOURCE_CATALOG)


@contextmanager
def _progress(quiet: bool, *, live: bool = True) -> Iterator[None]:
    """Stage lines on stderr while the pipeline runs (repair.core.progress), ended before the results print."""
    from repair.core import progress

    progress.start(quiet=quiet, live=live)
    try:
        yield
    finally:
        progress.stop()


def _check_out(model: Path, out: Path, force: bool) -> None:
    """--out outside the input, and not a non-empty directory without --force: the same check (and line) as the
    pipeline's ``_check_paths``, made here before TensorFlow loads. The pipeline checks again (the disk may change)."""
    from repair.core.publish import check_out_beside

    check_out_beside(model, out)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BadInput(f"--out {out} exists and is not empty; pass --force to replace it")


# Protobuf field numbers (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto): enough to list a signature's
# input keys without importing TensorFlow for its generated classes.
_META_GRAPHS, _SIGNATURE_DEF, _SIG_INPUTS, _TENSOR_DTYPE = 2, 5, 1, 2
_DT_STRING = 7


def _signature_inputs(model: Path, signature: str | None) -> list[str] | None:
    """The input keys of the signature ``fix`` will serve, read from saved_model.pb without TensorFlow; None whenever
    that is not certain (not a SavedModel, several meta graphs, no such signature, a string input that
    bypass_example_parsing may turn into several inputs, a file this reader does not understand)."""
    path = model / "saved_model.pb"
    if not path.is_file():
        return None
    try:
        graphs = [v for n, v in wire.fields(path.read_bytes()) if n == _META_GRAPHS and isinstance(v, bytes)]
        if len(graphs) != 1:
            return None
        signatures = wire.map_entries(graphs[0], _SIGNATURE_DEF)
        chosen = signatures.get(signature or "serving_default")
        if chosen is None:
            return None
        inputs = wire.map_entries(chosen, _SIG_INPUTS)
        if any(n == _TENSOR_DTYPE and v == _DT_STRING for info in inputs.values() for n, v in wire.fields(info)):
            return None
    except (OSError, wire.WireError):
        return None
    return sorted(inputs)  # TensorFlow lists a signature's inputs sorted by key


def _check_key_count(model: Path, options: Options) -> None:
    """--input-keys / --request naming another number of keys than the model has inputs: the refusal ``fix`` would
    reach after loading TensorFlow (rename_serving_keys' reason, exit 1), said before it, when the protos alone
    show it. --rename decides the keys instead, so then there is nothing to count."""
    wanted = options.wanted_input_keys
    if options.renames or not wanted:
        return
    have = _signature_inputs(model, options.signature)
    if have is None or len(have) == len(wanted):
        return
    raise Refused(f"cannot repair: serving-key-mismatch: the model has {count(len(have), 'input')} ({', '.join(have)}) "
                  f"but {count(len(wanted), 'key was', 'keys were')} asked for; use --rename old=new")


# What each file ``fix`` writes is, for its closing lines; the SavedModel's own files are named once, as the directory.
WRITTEN = {
    "model.tflite": "the verified .tflite",
    "model_float.tflite": "the verified float .tflite (model.tflite is the quantized one)",
    "report.html": "the report with the picture of the change (open it in a browser)",
    "report.md": "the report",
    "report.json": "the report's facts, for scripts",
    "model_explorer.json": "the change as Model Explorer node data",
    "source.patch": "the accepted source edits (git apply)",
}
_SAVED_MODEL_PARTS = frozenset({"saved_model.pb", "saved_model.pbtxt", "fingerprint.pb", "keras_metadata.pb"})


def _print_written(result: RunResult, report: Path | None) -> None:
    """The closing lines of ``fix``: what was written where (the files found on disk, each said what it is)."""

    written = dict(WRITTEN)
    if result.quant is not None and not result.quant.refused:
        written["model.tflite"] = f"the quantized .tflite ({result.quant.request.mode.value}), verified within the budget"

    def files(directory: Path, ours_only: bool = False) -> list[tuple[str, str]]:  # ours_only: --report may hold more
        return [(terminal(path), written.get(path.name, ""))
                for path in sorted(p for p in directory.iterdir() if p.is_file() and p.name not in _SAVED_MODEL_PARTS
                                   and (p.name in written or not ours_only))]

    blocks: list[tuple[str, list[tuple[str, str]]]] = []
    if result.out is not None:
        saved = (terminal(result.out), "the repaired SavedModel (tag serve, signature serving_default)")
        blocks.append((f"wrote {terminal(result.out)} in {result.timings['total']:.1f}s:", [saved, *files(result.out)]))
    if report is not None and report.is_dir():
        blocks.append((f"report{' also' if result.out is not None else ''} in {terminal(report)}:",
                       files(report, ours_only=True)))
    width = max((len(path) for _, rows in blocks for path, _ in rows), default=0)
    for head, rows in blocks:
        out.print(head, highlight=False)
        for path, what in rows:
            out.print(f"  {path.ljust(width)}  {what}".rstrip(), highlight=False)


@app.command(cls=_Command)
@model_flags(omit=("atol", "rtol"))  # diagnose reports the parity figure; it judges nothing against a tolerance
@_exits("diagnose")
def diagnose(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="SavedModel directory, .keras/.h5 file or frozen GraphDef .pb.")],
    flags: ModelFlags,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the raw evidence for each finding.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Say in plain words what stops MODEL from converting to TFLite, serving, or running on each --target."""

    def body() -> int:
        from repair.core.findings import blocking
        from repair.fix.pipeline import run_diagnosis
        from repair.fix.quantize import to_json as quant_json

        options = flags.options()
        if not model.exists():  # before the progress line "loading TensorFlow": a usage error is its one line
            raise BadInput(f"{model}: no such file or directory")
        with _progress(quiet):
            diag = run_diagnosis(model, options, _catalog())
        if as_json:
            print(json.dumps({"model": str(model), "findings": [f.to_json() for f in diag.findings],
                              "blocking": len(blocking(diag.findings)),
                              "targets": [r.to_json() for r in diag.targets],
                              "timings_s": {k: round(v, 3) for k, v in diag.timings.items()},
                              **({"quantization": quant_json(diag.quant)} if diag.quant is not None else {})}, indent=2))
        else:
            out.print(f"[bold]{terminal(model)}[/] ({diag.model.kind.value}, target {terminal(options.target_text)})",
                      highlight=False)
            if diag.model.entry is not None:
                table = Table(show_header=True, header_style="bold", box=None)  # cells are markup: escaped
                for col in ("", "key", "dtype", "shape"):
                    table.add_column(col, overflow="fold")  # a long key is shown whole, never cut with '…'
                for p in diag.model.entry.inputs:
                    table.add_row("input", terminal(p.name), terminal(p.dtype), terminal(p.shape_text()))
                for p in diag.model.entry.outputs:
                    table.add_row("output", terminal(p.name), terminal(p.dtype), terminal(p.shape_text()))
                out.print(f"serving entry: {terminal(diag.model.entry.describe())}", highlight=False)
                out.print(table)
            if diag.tflite is not None:
                out.print(f".tflite: {diag.tflite.size:,} bytes; ops {terminal(diag.tflite.histogram_text())}",
                          highlight=False)
            if diag.parity is not None:
                out.print(f"parity (.tflite vs TensorFlow): max abs diff {diag.parity.worst:.3g}", highlight=False)
            _print_targets(diag.targets)
            if diag.quant is not None:
                _print_quant(diag.quant)
            elif options.quantize is not None:
                out.print(f"--quantize {options.quantize.mode.value}: not tried; the float model must convert and match "
                          "first (the findings below)", highlight=False)
            _print_findings(diag.findings, out)
            _print_next(model, diag.findings, flags.given())
            if verbose:
                for f in diag.findings:
                    if f.evidence:
                        out.print(f"\n[bold]{f.id}[/] evidence:\n{terminal_block(f.evidence)}", highlight=False,
                                  markup=True)
        return int(ExitCode.FINDINGS_REMAIN if blocking(diag.findings) else ExitCode.OK)

    raise typer.Exit(_guard(body))


def _print_targets(reports: list[TargetReport]) -> None:
    """The compact per-target table of ``diagnose --target``: verdict, what was measured, the first refused nodes."""
    if not reports:
        return
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("target", "result", "detail"):
        table.add_column(col, overflow="fold")
    for r in reports:
        style = "green" if r.ok else "yellow" if r.accepted else "red"
        table.add_row(terminal(r.name), f"[{style}]{terminal(r.verdict)}[/]", terminal(r.summary))
        for o in r.offenders[:4]:
            table.add_row("", "", "  " + terminal(o.describe()))
        if len(r.offenders) > 4:
            table.add_row("", "", f"  and {len(r.offenders) - 4} more (--json lists all)")
    out.print(table)


def _recipe_entry(result: RunResult) -> dict[str, Any] | None:
    """The plan file's ``quantization``: the recipe of the model this run published (or would have), replayed by
    ``--plan-in`` exactly, without a search."""
    q = result.quant.result if result.quant is not None else None
    if q is None or q.tflite is None:
        return None
    return {"quantization": {"recipe": q.recipe.to_json(),
                             "note": "--plan-in quantizes with exactly this recipe (these layers float) and measures "
                                     "it against the budget again; delete this block to search again"}}


def _replayed(plan: Path, request: Quantize) -> Quantize:
    """--plan-in with --quantize: the plan's recipe, if it has one for this mode (float_layers then skip the search)."""
    try:
        body = json.loads(plan.read_text())
        recipe = body.get("quantization", {}).get("recipe") if isinstance(body, dict) else None
    except (OSError, ValueError, AttributeError):
        return request  # read_plan says what is wrong with the file
    if not isinstance(recipe, dict):
        return request
    layers, mode = recipe.get("float_layers"), recipe.get("mode")
    if mode != request.mode.value or recipe.get("io", "float") != request.io:
        raise BadInput(f"--plan-in {plan}: its quantization recipe is for --quantize {mode} --io {recipe.get('io')}, "
                       f"not --quantize {request.mode.value} --io {request.io}")
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise BadInput(f"--plan-in {plan}: quantization.recipe.float_layers must be a list of tensor names")
    return replace(request, float_layers=tuple(layers))


def _print_quant(outcome: QuantOutcome) -> None:
    """``--quantize``: the data, each budget term's verdict, the layers kept float and the sizes, in a few lines."""
    q, mode = outcome.result, outcome.request.mode.value
    if q is None:
        out.print(f"quantization ({terminal(mode)}): [red]failed[/]", highlight=False)
        return
    out.print(f"quantization ({terminal(mode)}): {terminal(q.calibration.source)}; "
              f"{count(len(q.calibration.held_out), 'held-out sample')}; {q.float_bytes:,} -> {q.quant_bytes:,} bytes; "
              f"{q.float_latency * 1e3:.3g} -> {q.quant_latency * 1e3:.3g} ms", highlight=False)
    for s in q.scores:
        verdict = "[green]within[/]" if s.ok else "[red]misses[/]"
        out.print(f"  {terminal(s.output)} {s.metric.value}: {s.achieved:.5g} {verdict} budget {s.limit:g}", highlight=False)
    for e in q.kept:
        out.print(f"  kept float: {terminal(e.tensor)} ({terminal(e.op)}, noise/signal {e.nsr:.3g})", highlight=False)
    if q.steps and len(q.steps) > 1:
        out.print(f"  search: {count(len(q.steps), 'step')}, {sum(s.seconds for s in q.steps):.2f}s", highlight=False)


ConvertOriginalOpt = Annotated[bool, typer.Option(
    "--convert-original", help="Also convert and run the original when its protos already decide the fixes, so the report has "
    "its .tflite, op delta and parity (one more conversion).")]


@app.command(cls=_Command)
@model_flags()
@_exits("fix")
def fix(
    model: Annotated[Path, typer.Argument(
        metavar="MODEL", help="SavedModel directory, .keras/.h5 file or frozen GraphDef .pb (never modified).")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR",
        help="Where the repaired SavedModel is published (only if verified). Required unless --plan-out.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", metavar="DIR", help="Also write report.html/.md/.json here (useful when the gate fails).")] = None,
    *,
    flags: ModelFlags,  # the model flags' options, in this place in --help (see model_flags)
    yes: YesOpt = False,
    unsafe_fixes: UnsafeFixesOpt = False,
    interactive: InteractiveOpt = False,
    plan_out: PlanOutOpt = None,
    plan_in: PlanInOpt = None,
    source: Annotated[Path | None, typer.Option(
        "--source", metavar="SRC",
        help="The Python source that built MODEL: offer the matching source edits too (written as source.patch "
        "beside the report).")] = None,
    convert_original: ConvertOriginalOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Repair MODEL, verify the result and publish it to --out with model.tflite and the reports (report.html, .md, .json).

    Safe fixes are applied; unsafe ones only with --unsafe-fixes or the flag that parametrizes them (--pin,
    --rename, --input-keys, --request, --sample); -i asks about each; --plan-in applies an edited plan.
    """

    def body() -> int:
        from repair.core.decide import fingerprint, write_plan

        if out_dir is None and plan_out is None:
            raise BadInput("give --out DIR (where the repaired model goes), or --plan-out FILE to only write the plan")
        if source is not None and not source.exists():
            raise BadInput(f"--source {source}: no such file or directory")
        if not model.exists():
            raise BadInput(f"{model}: no such file or directory")
        from repair.core.publish import check_side_outputs, clean_stale

        check_side_outputs(model, out_dir, report, plan_out)
        options = replace(flags.options(), convert_original=convert_original)
        # Usage errors that need no model are answered here, before the pipeline loads TensorFlow (seconds, ~0.7 GB).
        if out_dir is not None:
            _check_out(model, out_dir, force)
        if report is None and plan_out is None:  # with either, a refused run still writes its report / plan
            _check_key_count(model, options)
        if plan_in is not None and options.quantize is not None:
            options = replace(options, quantize=_replayed(plan_in, options.quantize))
        for stale in clean_stale(out_dir.parent) if out_dir is not None else []:  # scratch of runs killed earlier
            err.print(f"removed stale scratch {terminal(stale.path)} left by a killed run (pid {stale.pid})", highlight=False)
        catalog = _catalog(with_source=source is not None)
        decider: Decider = _decider(yes, unsafe_fixes, interactive, plan_in, "fix", lambda: fingerprint([model]),
                                    catalog.consented(options))
        recorder = Recorder(decider)
        from repair.fix.pipeline import run_fix

        with _progress(quiet, live=not interactive):  # a ticking line would garble the -i questions
            result = run_fix(model, out_dir, options, catalog, force=force, decider=recorder, report_dir=report,
                             source=source)
        if plan_out is not None:
            write_plan(plan_out, "fix", [str(model)], fingerprint([model]), recorder.entries, _recipe_entry(result))
        out.print(f"[bold]{terminal(model)}[/]: {count(len(result.original.findings), 'finding')} before", highlight=False)
        _print_findings(result.original.findings, out)
        for r in result.fixes:
            mark = FIX_MARKS.get(r.outcome.value, r.outcome.value)
            out.print(f"  {mark} {terminal(r.rewrite_id)}: {terminal(r.summary)}", highlight=False)
            if r.why and r.safety is not Safety.SAFE:
                out.print(f"           why: {terminal(r.why)}", highlight=False)
        if result.quant is not None:
            _print_quant(result.quant)
        for c in result.gate:
            verdict = "[green]pass[/]" if c.ok else "[red]FAIL[/]"
            out.print(f"  gate {verdict} {terminal(c.name)}: {terminal(c.detail)}", highlight=False)
        if result.final is not None and result.final.findings and result.final is not result.original:
            out.print("findings after:", highlight=False)
            _print_findings(result.final.findings, out)
        colour = "green" if result.exit_code is ExitCode.OK else "red"
        out.print(f"[bold {colour}]{result.status.value}[/]: {terminal(result.message)}", highlight=False)
        for edit in result.source_edits:
            mark = "[green]accepted[/]" if edit["decision"] == "accept" else "[yellow]not accepted[/]"
            out.print(f"  source {mark} {terminal(edit['location'])} {terminal(edit['rewrite'])}: {terminal(edit['title'])}",
                      highlight=False)
        _print_written(result, report)
        if result.source_patch is not None:
            patch = terminal(result.source_patch)
            out.print(f"source edits: {patch} (apply with: git apply {terminal(shlex.quote(str(result.source_patch)))})",
                      highlight=False)
        if plan_out is not None:
            out.print(_plan_line(plan_out, len(recorder.entries)), highlight=False)
        return int(result.exit_code)

    raise typer.Exit(_guard(body))


@app.command(cls=_Command)
@_exits("codemod")
def codemod(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...",
    help="Python files or folders (searched recursively for .py files).")],
    write: Annotated[bool, typer.Option(
        "--write", help="Apply the accepted fixes to the files (default: print a unified diff).")] = False,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", metavar="N", help="Files processed in parallel (processes); -i always runs one at a time.")] = 1,
    pin: PinOpt = None,
    rename: RenameOpt = None,
    select: Annotated[str | None, typer.Option(
        "--select", metavar="ID[,ID...]", help="Only these source rewrites, comma-separated (see `repair rewrites`).")] = None,
    yes: YesOpt = False,
    unsafe_fixes: UnsafeFixesOpt = False,
    interactive: InteractiveOpt = False,
    plan_out: PlanOutOpt = None,
    plan_in: PlanInOpt = None,
) -> None:
    """Rewrite the Python that builds and exports models, so the next export is right (never imports or runs it).

    Prints a unified diff of the safe fixes (unsafe ones with --unsafe-fixes); --write applies them. Warnings
    (display-only) and fixes not applied go to stderr, then one summary line. A file that does not parse is
    reported and left alone (a file found in a folder is parsed only when the pre-filter lets it through).
    A line with `# repair: ignore` is never changed.
    """

    def body() -> int:
        import time

        from repair.core.decide import fingerprint, write_plan
        from repair.source.codemod import FileResult, FileStatus, discover, run_codemod
        from repair.source.rewrite import SourceOptions
        from rewrites.source import SOURCE_BY_ID, SOURCE_CATALOG

        for path in paths:
            if not path.exists():
                raise BadInput(f"{path}: no such file or directory")
        if jobs < 1:
            raise BadInput(f"--jobs {jobs}: must be 1 or more")
        chosen = SOURCE_CATALOG
        if select:
            ids = [s.strip() for s in select.split(",") if s.strip()]
            unknown = [i for i in ids if i not in SOURCE_BY_ID]
            if unknown:
                raise BadInput(f"--select {unknown[0]}: no such source rewrite (known: {', '.join(SOURCE_BY_ID)})")
            chosen = tuple(r for r in SOURCE_CATALOG if r.id in ids)
        options = SourceOptions(pins=_pins(pin), renames=dict(_pairs(rename, "--rename")))
        files = list(discover(paths))
        asked = frozenset(r.id for r in chosen if r.consented(options))  # --pin/--rename name the values: consent
        decider: Decider = _decider(yes, unsafe_fixes, interactive, plan_in, "codemod", lambda: fingerprint(files), asked)
        if plan_out is not None:
            decider = Recorder(decider)
        entries: list[dict[str, object]] = []

        def show(result: FileResult) -> None:
            entries.extend(result.proposals)
            if result.status is FileStatus.FAILED:
                err.print(f"{terminal(result.path)}: [red]failed[/]: {terminal(result.error)}", highlight=False)
            for edit in result.edits:
                site = edit.site
                if site.safety is Safety.DISPLAY_ONLY:
                    # Messages quote the user's code: escaped, so a "[red]" in a string literal is text, not markup.
                    where = f"{terminal(result.path)}:{site.line}"
                    err.print(f"{where}: [yellow]warning[/] {site.rewrite_id}: {terminal(site.message)}", highlight=False)
                elif not edit.applied:
                    err.print(terminal(f"{result.path}:{site.line}: not applied ({site.safety.value}) {site.rewrite_id}: "
                                       f"{site.message} [{edit.why}]"), highlight=False)
            if result.status is FileStatus.CHANGED:
                if result.written:
                    n = sum(1 for e in result.edits if e.applied)
                    err.print(f"{terminal(result.path)}: [green]fixed[/] ({count(n, 'fix', 'fixes')})", highlight=False)
                else:
                    sys.stdout.write(result.diff())
                    sys.stdout.flush()

        started = time.perf_counter()
        named = [path for path in paths if path.is_file()]  # syntax-checked even when the pre-filter skips them
        summary = run_codemod(files, chosen, options, decider, write, 1 if interactive else jobs, show, named)
        seconds = time.perf_counter() - started
        if plan_out is not None:
            write_plan(plan_out, "codemod", [str(p) for p in paths], fingerprint(files), entries)
        rate = summary.scanned / seconds if seconds > 0 else 0.0
        err.print(f"{terminal(summary.line())} ({seconds:.2f}s, {rate:.0f} files/s)", highlight=False)
        if plan_out is not None:
            err.print(_plan_line(plan_out, len(entries)), highlight=False)
        return int(ExitCode.FINDINGS_REMAIN if summary.failed else ExitCode.OK)

    raise typer.Exit(_guard(body))


class _BatchProgress:
    """The batch's progress bar on stderr, with one line per finished model above it (``quiet``: neither)."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("repair batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=err, transient=True)
        self.task = self.bar.add_task("models", total=None)
        self.quiet = quiet

    def start(self, models: int) -> None:
        """The bar appears once the batch is valid (and a Ray cluster is connected)."""
        self.bar.update(self.task, total=models)
        if not self.quiet:
            self.bar.start()

    def done(self, o: ModelOutcome) -> None:
        """One finished model (called from the engine's threads)."""
        from repair.batch.local import SUCCESS

        colour = "green" if o.status in SUCCESS else "red"
        if self.quiet:
            return
        self.bar.console.print(f"{terminal(o.name)}: [{colour}]{o.status.value}[/] ({o.seconds:.1f}s) {terminal(o.message)}",
                               highlight=False)  # zoo folder names and model messages: escaped
        self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


@app.command(cls=_Command)
@model_flags()
@_exits("batch")
def batch(
    zoo: Annotated[Path, typer.Argument(metavar="ZOO", help="A folder of models (what counts as one is described below).")],
    out_dir: Annotated[Path, typer.Option(
        "--out", metavar="OUT", help="Output folder: OUT/NAME per repaired model, OUT/NAME.report, state and summary.")],
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", metavar="N",
        help="Models repaired in parallel (one process each, each loads TensorFlow). Default: 1; with "
        "--engine ray, the cluster's CPUs / --ray-cpus.", show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", metavar="SECONDS",
        help="Seconds per model; the child's process group is killed and the model recorded as timeout.")] = None,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Also redo models that ended refused, verification-failed or bad-input.")] = False,
    engine: Annotated[str, typer.Option(
        "--engine", metavar="[local|ray]", help="local: child processes on this machine; ray: one Ray task per model (needs "
        "ray: the package's ray extra, see the README).")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", metavar="ADDR",
        help="With --engine ray: an existing cluster (auto on a cluster node, or ray://HOST:10001). "
        "Without it a local cluster is started for the run.")] = None,
    ray_cpus: Annotated[float | None, typer.Option(
        "--ray-cpus", metavar="N",
        help="With --engine ray: CPUs each model's task reserves (default 1).", show_default=False)] = None,
    *,
    flags: ModelFlags,  # every model flag of fix, forwarded to each child (see model_flags)
    unsafe_fixes: UnsafeFixesOpt = False,
    convert_original: ConvertOriginalOpt = False,
    plan_in: Annotated[Path | None, typer.Option(
        "--plan-in", metavar="FILE.json",
        help="Refused: a plan file is made for one model (its fingerprint); run `repair fix --plan-in` per "
        "model.")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress on stderr: no bar and no line per model (the summary line stays); each "
        "model's own progress is in its fix.log.")] = False,
) -> None:
    """Repair every model in ZOO: `repair fix MODEL --out OUT/NAME --report OUT/NAME.report FLAGS`, one process each.

    Models are the entries directly in ZOO (hidden ones ignored): a folder with saved_model.pb is a SavedModel named
    after the folder; a folder NAME whose saved_model/ subfolder has saved_model.pb is that SavedModel, named NAME; a
    .keras, .h5 or .pb file is a model named by its stem. Any other folder is reported as bad-input; other files are
    ignored. Runs never prompt (stdin is closed); a child's output is in OUT/NAME.report/fix.log.

    FLAGS are every model flag of `repair fix` (--target to --rtol below), --unsafe-fixes and --convert-original:
    every child gets the same ones. --sample and --request name one file that every model gets (a zoo of versions of
    one model, served to the same clients); a model whose inputs it does not fit ends bad-input, like one without an
    input a --pin names. --plan-in is refused (exit 2): a plan is made for one model.

    OUT/batch-state.json is rewritten after each model. A re-run skips models already recorded as repaired,
    nothing-to-fix, refused, verification-failed or bad-input, and redoes error and timeout ones (--retry-failed
    redoes everything that did not end repaired or nothing-to-fix). A state written with other fix flags is ignored:
    every model runs again. OUT/summary.md and OUT/summary.json are written at the end.

    --engine ray runs each model as one Ray task (the same child process, on a worker): on a local cluster started
    for the run, or on an existing one with --ray-address. ZOO and OUT must then be on a filesystem every Ray node
    sees at the same path. The state file is the same for both engines: a batch started with one resumes with the
    other.
    """

    def body() -> int:
        from repair.batch.local import Interrupted, run_batch, write_summary

        if engine not in ("local", "ray"):
            raise BadInput(f"--engine {engine}: must be local or ray")
        if engine != "ray" and (ray_address is not None or ray_cpus is not None):
            raise BadInput(f"{'--ray-address' if ray_address is not None else '--ray-cpus'} needs --engine ray")
        if plan_in is not None:
            raise BadInput(f"--plan-in {plan_in}: a plan file is made for one model and refuses every other; batch runs "
                           "many: decide with --unsafe-fixes, or run `repair fix --plan-in` per model")
        flags.options()  # a bad value (a --pin without '=', a missing --sample) is exit 2 here, not once per model
        values, switches = flags.forwarded()
        # Options with values, then the switches: the order earlier versions wrote into batch-state.json, which a
        # resume compares, so their batches still resume.
        fix_args = [*values, *["--unsafe-fixes"] * unsafe_fixes, *switches, *["--convert-original"] * convert_original]
        progress = _BatchProgress(quiet)
        failure: RepairError | None = None
        stopped: Interrupted | None = None
        try:
            if engine == "ray":
                from repair.batch.ray import run_batch_ray

                result = run_batch_ray(zoo, out_dir, fix_args, jobs=jobs, timeout=timeout, retry_failed=retry_failed,
                                       address=ray_address, cpus_per_task=1.0 if ray_cpus is None else ray_cpus,
                                       on_start=progress.start, on_done=progress.done)
            else:
                result = run_batch(zoo, out_dir, fix_args, jobs=1 if jobs is None else jobs, timeout=timeout,
                                   retry_failed=retry_failed, on_start=progress.start, on_done=progress.done)
        except RepairError as exc:
            failure = exc
        except Interrupted as exc:  # SIGINT/SIGTERM/SIGHUP: the children are dead, the state holds what finished
            stopped = exc
        finally:
            progress.stop()
        if failure is not None:  # printed here, escaped: a message may hold [brackets] (pip install 'repair[ray]')
            err.print(f"[bold red]repair:[/] {terminal(failure)}", highlight=False)
            return int(failure.exit_code)
        if stopped is not None:
            err.print(f"[bold red]repair:[/] stopped by {stopped}: the running models were killed and their partial "
                      f"output removed; {terminal(out_dir / 'batch-state.json')} keeps what finished; run the same "
                      "command to resume", highlight=False)
            return stopped.exit_code
        _, md_path = write_summary(result, zoo, out_dir)
        counts = ", ".join(f"{n} {s.value}" for s, n in result.counts().items() if n)
        where = " on ray" if result.engine == "ray" else ""
        err.print(f"{count(len(result.outcomes), 'model')}: {counts}; ran {result.ran}, skipped {result.skipped}; "
                  f"{result.wall_seconds:.1f}s with -j {result.jobs}{where}; summary: {terminal(md_path)}", highlight=False)
        return result.exit_code

    raise typer.Exit(_guard(body))



def _print_catalog() -> None:
    """``repair rewrites``: both catalogs as tables whose ids are never wrapped or cut, at any width and in a pipe.

    Ids (rewrite ids, and the finding ids a rewrite answers) are what users paste into ``repair rewrites ID`` and plan
    files, so the id column never wraps and the finding ids go into the description cell, which wraps between words.
    """
    from rich.table import Column

    from rewrites import CATALOG
    from rewrites.source import SOURCE_CATALOG

    def table(title: str) -> Table:
        return Table(Column("id", no_wrap=True), Column("safety", no_wrap=True), Column("what it does", overflow="fold"),
                     box=None, header_style="bold", title=title, title_justify="left")

    model = table("model rewrites (repair fix)")
    for r in CATALOG:
        model.add_row(r.id, r.safety.value, f"{r.title}; answers {', '.join(sorted(k.value for k in r.answers))}")
    out.print(model, highlight=False, markup=False)
    source = table("source rewrites (repair codemod)")
    for s in SOURCE_CATALOG:
        source.add_row(s.id, s.safety.value, s.title + (f"; mirrors {s.model_rewrite}" if s.model_rewrite else ""))
    out.print(source, highlight=False, markup=False)


def _model_example(rewrite_id: str, cases: tuple[str, ...]) -> list[str]:
    """A model rewrite's example: the first corpus case it repairs (its ``cases``), with the commands that build the
    case and fix it (the flags the corpus test passes). Empty when the corpus is not installed."""
    try:
        from corpora import get_case
    except ImportError:
        return []
    for case_id in cases:
        try:
            case = get_case(case_id)
        except KeyError:
            continue
        if rewrite_id not in case.expect.rewrites or case.expect.fix_exit != int(ExitCode.OK):
            continue
        args = [a.replace("{case_dir}", "example") for a in case.expect.fix_args]
        return [f"example: corpus case {case.id}: {case.summary}",
                f"  MODEL=$(python -m corpora build {shlex.quote(case.id)} example)   # builds it, prints its path",
                '  repair diagnose "$MODEL"',
                '  repair fix "$MODEL" --out example-fixed' + "".join(" " + shlex.quote(a) for a in args)]
    return []


@app.command(cls=_Command)
@_exits("rewrites")
def rewrites(rewrite_id: Annotated[str | None, typer.Argument(
        metavar="[ID]", help="Show one rewrite's documentation and an example.")] = None) -> None:
    """List the catalog of rewrites, or explain one."""

    def body() -> int:
        from rewrites import BY_ID
        from rewrites.source import SOURCE_BY_ID

        if rewrite_id is None:
            _print_catalog()
            return 0
        r = BY_ID.get(rewrite_id) or SOURCE_BY_ID.get(rewrite_id)
        if r is None:
            raise BadInput(f"no rewrite '{rewrite_id}' (known: {', '.join([*BY_ID, *SOURCE_BY_ID])})")
        answers = ", ".join(sorted(k.value for k in r.answers))
        out.print(f"[bold]{r.id}[/] ({r.safety.value}) answers {answers}\n", highlight=False)
        out.print(r.doc(), highlight=False, markup=False)
        if rewrite_id in SOURCE_BY_ID:
            for example in SOURCE_BY_ID[rewrite_id].examples:
                if example.after is not None:
                    out.print("\nexample:", highlight=False)
                    out.print(unified_example(example.before, example.after), highlight=False, markup=False)
                    break
        else:
            lines = _model_example(rewrite_id, tuple(getattr(r, "cases", ())))
            if lines:
                out.print("\n" + "\n".join(lines), highlight=False, markup=False)
        return 0

    raise typer.Exit(_guard(body))


def main() -> None:
    app()


if __name__ == "__main__":
    from repair.core.crash import die_with_parent
    from repair.core.tfenv import run_and_exit

    die_with_parent()  # a batch driver's child dies with it
    run_and_exit(main)  # the supervised child of diagnose/fix: no TensorFlow teardown at exit
