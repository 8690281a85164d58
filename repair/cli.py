"""The command line: parses flags, calls the pipeline, prints. The only module that talks to the user.

Nothing here imports TensorFlow at module level: ``repair --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from repair.errors import BadInput, ExitCode, RepairError
from repair.options import IoHint, Options, Target, Tolerance

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Diagnose and repair TensorFlow models that fail to convert to TFLite or to serve.",
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PinOpt = Annotated[Optional[list[str]], typer.Option("--pin", help="Pin an input's shape: NAME=1,224,224,3; -1 keeps a dim unknown (repeatable).")]
SampleOpt = Annotated[Optional[Path], typer.Option("--sample", help="A .npz of real inputs keyed by input name.")]
TargetOpt = Annotated[Target, typer.Option("--target", help="What the model must work for.")]
KeysOpt = Annotated[Optional[str], typer.Option("--input-keys", help="The input keys clients send, comma-separated, in the order diagnose lists the inputs.")]
RenameOpt = Annotated[Optional[list[str]], typer.Option("--rename", help="Rename a serving key: OLD=NEW (inputs or outputs; repeatable).")]
RequestOpt = Annotated[Optional[Path], typer.Option("--request", help="A sample TF Serving REST request body (JSON) to take input keys from.")]
HintOpt = Annotated[Optional[list[str]], typer.Option("--io-hint", help="TF1 graphs: inputs:KEY=tensor:0 or outputs:KEY=tensor:0 (repeatable).")]
SignatureOpt = Annotated[Optional[str], typer.Option("--signature", help="Which named signature becomes serving_default.")]
UnsafeLoadOpt = Annotated[bool, typer.Option("--unsafe-load", help="Let Keras deserialize code (Lambda layers). Only for files you trust.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for generated parity inputs.")]
BatchOpt = Annotated[int, typer.Option("--batch", help="Batch size used for unknown batch dimensions in parity inputs.")]


def _pairs(values: list[str] | None, flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise BadInput(f"{flag} {value!r}: expected NAME=VALUE")
        pairs.append((key, rest))
    return pairs


def _pins(values: list[str] | None) -> dict[str, tuple[int, ...]]:
    pins = {}
    for name, dims in _pairs(values, "--pin"):
        try:
            values = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise BadInput(f"--pin {name}={dims}: dimensions must be integers, e.g. {name}=1,224,224,3") from None
        if any(d == 0 or d < -1 for d in values):
            raise BadInput(f"--pin {name}={dims}: dimensions must be positive, or -1 to keep one unknown")
        pins[name] = tuple(None if d == -1 else d for d in values)
    return pins


def _hints(values: list[str] | None) -> tuple[IoHint, ...]:
    hints = []
    for value in values or []:
        side, sep, rest = value.partition(":")
        key, eq, tensor = rest.partition("=")
        if side not in ("inputs", "outputs") or not sep or not eq or not key or not tensor:
            raise BadInput(f"--io-hint {value!r}: expected inputs:KEY=tensor:0 or outputs:KEY=tensor:0")
        hints.append(IoHint(side, key, tensor))
    return tuple(hints)


def request_keys(path: Path) -> tuple[str, ...]:
    """Input keys from a TF Serving REST body: {"instances": [{...}]} or {"inputs": {...}}."""
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--request {path}: not a readable JSON file ({exc.__class__.__name__})") from None
    if isinstance(body, dict):
        instances = body.get("instances")
        if isinstance(instances, list) and instances and isinstance(instances[0], dict):
            return tuple(k for k in instances[0] if k != "b64")
        inputs = body.get("inputs")
        if isinstance(inputs, dict):
            return tuple(inputs)
        if instances is not None or inputs is not None:
            return ()  # a single unnamed input: no key contract to check
    raise BadInput(f"--request {path}: expected a TF Serving REST body with 'instances' or 'inputs'")


def _options(target: Target, pin: list[str] | None, sample: Path | None, input_keys: str | None, rename: list[str] | None,
             request: Path | None, io_hint: list[str] | None, signature: str | None, unsafe_load: bool, seed: int,
             batch: int, atol: float = 1e-5, rtol: float = 1e-4) -> Options:
    if sample is not None and not sample.is_file():
        raise BadInput(f"--sample {sample}: no such file")
    return Options(
        target=target,
        pins=_pins(pin),
        sample=sample,
        io_hints=_hints(io_hint),
        input_keys=tuple(k.strip() for k in input_keys.split(",") if k.strip()) if input_keys else (),
        renames=dict(_pairs(rename, "--rename")),
        request_keys=request_keys(request) if request else (),
        signature=signature,
        tolerance=Tolerance(atol, rtol),
        seed=seed,
        batch=batch,
        unsafe_load=unsafe_load,
    )


def _guard(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run a command body: RepairError -> one line and its exit code; anything else -> exit 4, one line."""
    try:
        return fn(*args, **kwargs)
    except RepairError as exc:
        err.print(f"[bold red]repair:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:  # last resort: never a traceback unless asked for
        if os.environ.get("REPAIR_DEBUG"):
            raise
        err.print(f"[bold red]repair: internal error:[/] {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
                  "(rerun with REPAIR_DEBUG=1 for the traceback)", highlight=False)
        raise typer.Exit(int(ExitCode.INTERNAL_ERROR)) from None


def _print_findings(findings, console: Console) -> None:  # type: ignore[no-untyped-def]
    if not findings:
        console.print("[green]No findings.[/]")
        return
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        c = colours[f.severity.value]
        console.print(f"[{c}]{f.severity.value.upper():7}[/] [bold]{f.id}[/]  {f.title}", highlight=False)
        console.print(f"         {f.explanation}", highlight=False, style="dim")
        if f.fix:
            console.print(f"         fix: [green]{f.fix}[/]", highlight=False)
        else:
            console.print(f"         no automatic fix: {f.no_fix_reason}", highlight=False)


def _print_next(model: Path, findings, target: Target = Target.TFLITE) -> None:  # type: ignore[no-untyped-def]
    """One closing line: how many findings block, and the command to run next."""
    from repair.findings import blocking

    blockers = blocking(findings)
    fixable = [f for f in findings if f.fix]
    stuck = [f.id for f in blockers if not f.fix]
    if not blockers and not fixable:
        out.print(f"[green]nothing blocks deployment[/] ({len(findings)} note(s))", highlight=False)
        return
    if stuck:
        out.print(f"{len(blockers)} blocking; the catalog cannot fix {', '.join(stuck)} (see above)", highlight=False)
        return
    stem = model.name.removesuffix(model.suffix) if model.is_file() else model.name
    command = f"repair fix {shlex.quote(str(model))} --out {shlex.quote(str(model.parent / (stem + '-fixed')))}"
    if target is not Target.TFLITE:
        command += f" --target {target.value}"
    out.print(f"{len(blockers)} blocking; next: {command}", highlight=False)


@app.command()
def diagnose(
    model: Annotated[Path, typer.Argument(help="SavedModel directory, .keras/.h5 file or frozen GraphDef .pb.")],
    target: TargetOpt = Target.TFLITE,
    pin: PinOpt = None,
    sample: SampleOpt = None,
    input_keys: KeysOpt = None,
    rename: RenameOpt = None,
    request: RequestOpt = None,
    io_hint: HintOpt = None,
    signature: SignatureOpt = None,
    unsafe_load: UnsafeLoadOpt = False,
    seed: SeedOpt = 0,
    batch: BatchOpt = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the raw evidence for each finding.")] = False,
) -> None:
    """Say in plain words what stops MODEL from converting to TFLite or serving. Exit 0: nothing blocks; 1: blocking findings."""

    def body() -> int:
        from repair.findings import blocking
        from repair.pipeline import run_diagnosis

        options = _options(target, pin, sample, input_keys, rename, request, io_hint, signature, unsafe_load, seed, batch)
        with err.status("diagnosing (loading TensorFlow, converting, checking parity)..."):
            diag = run_diagnosis(model, options)
        if as_json:
            print(json.dumps({"model": str(model), "findings": [f.to_json() for f in diag.findings],
                              "blocking": len(blocking(diag.findings))}, indent=2))
        else:
            out.print(f"[bold]{model}[/] ({diag.model.kind.value}, target {options.target.value})", highlight=False)
            if diag.model.entry is not None:
                table = Table(show_header=True, header_style="bold", box=None)
                for col in ("", "key", "dtype", "shape"):
                    table.add_column(col)
                for p in diag.model.entry.inputs:
                    table.add_row("input", p.name, p.dtype, p.shape_text())
                for p in diag.model.entry.outputs:
                    table.add_row("output", p.name, p.dtype, p.shape_text())
                out.print(f"serving entry: {diag.model.entry.describe()}", highlight=False)
                out.print(table)
            if diag.tflite is not None:
                out.print(f".tflite: {diag.tflite.size:,} bytes; ops {diag.tflite.histogram_text()}", highlight=False)
            if diag.parity is not None:
                out.print(f"parity (.tflite vs TensorFlow): max abs diff {diag.parity.worst:.3g}", highlight=False)
            _print_findings(diag.findings, out)
            _print_next(model, diag.findings, options.target)
            if verbose:
                for f in diag.findings:
                    if f.evidence:
                        out.print(f"\n[bold]{f.id}[/] evidence:\n{f.evidence}", highlight=False, markup=True)
        return int(ExitCode.FINDINGS_REMAIN if blocking(diag.findings) else ExitCode.OK)

    raise typer.Exit(_guard(body))


@app.command()
def fix(
    model: Annotated[Path, typer.Argument(help="SavedModel directory, .keras/.h5 file or frozen GraphDef .pb (never modified).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the repaired SavedModel is published (only if verified).")],
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write report.md/report.json here (useful when the gate fails).")] = None,
    target: TargetOpt = Target.TFLITE,
    pin: PinOpt = None,
    sample: SampleOpt = None,
    input_keys: KeysOpt = None,
    rename: RenameOpt = None,
    request: RequestOpt = None,
    io_hint: HintOpt = None,
    signature: SignatureOpt = None,
    unsafe_load: UnsafeLoadOpt = False,
    seed: SeedOpt = 0,
    batch: BatchOpt = 2,
    atol: Annotated[float, typer.Option("--atol", help="Absolute parity tolerance.")] = 1e-5,
    rtol: Annotated[float, typer.Option("--rtol", help="Relative parity tolerance.")] = 1e-4,
) -> None:
    """Repair MODEL, verify the result and publish it to --out with report.md/report.json and model.tflite.

    Exit 0: repaired (or nothing to fix) and verified; 1: a finding the catalog cannot fix; 2: bad input;
    3: verification failed (nothing written to --out).
    """

    def body() -> int:
        from repair.pipeline import run_fix

        options = _options(target, pin, sample, input_keys, rename, request, io_hint, signature, unsafe_load, seed, batch, atol, rtol)
        with err.status("repairing (diagnose, fix, export, convert, verify)..."):
            result = run_fix(model, out_dir, options, force=force, report_dir=report)
        out.print(f"[bold]{model}[/]: {len(result.original.findings)} finding(s) before", highlight=False)
        _print_findings(result.original.findings, out)
        for r in result.fixes:
            mark = {"applied": "[green]applied[/]", "rejected": "[yellow]rejected[/]", "failed": "[red]failed[/]"}.get(r.outcome.value, r.outcome.value)
            out.print(f"  {mark} {r.rewrite_id}: {r.summary}", highlight=False)
        for c in result.gate:
            out.print(f"  gate {'[green]pass[/]' if c.ok else '[red]FAIL[/]'} {c.name}: {c.detail}", highlight=False)
        if result.final is not None and result.final.findings and result.final is not result.original:
            out.print("findings after:", highlight=False)
            _print_findings(result.final.findings, out)
        colour = "green" if result.exit_code is ExitCode.OK else "red"
        out.print(f"[bold {colour}]{result.status}[/]: {result.message}", highlight=False)
        if result.out is not None:
            out.print(f"wrote {result.out} (SavedModel, model.tflite, report.md, report.json) in {result.timings['total']:.1f}s", highlight=False)
        elif report is not None:
            out.print(f"report: {report / 'report.md'}", highlight=False)
        return int(result.exit_code)

    raise typer.Exit(_guard(body))


@app.command()
def rewrites(rewrite_id: Annotated[Optional[str], typer.Argument(help="Show one rewrite's documentation.")] = None) -> None:
    """List the catalog of rewrites, or explain one."""

    def body() -> int:
        from rewrites import BY_ID, CATALOG

        if rewrite_id is None:
            table = Table("id", "safety", "answers", "what it does", box=None, header_style="bold")
            for r in CATALOG:
                table.add_row(r.id, r.safety.value, ", ".join(sorted(k.value for k in r.answers)), r.title)
            out.print(table)
            return 0
        if rewrite_id not in BY_ID:
            raise BadInput(f"no rewrite '{rewrite_id}' (known: {', '.join(BY_ID)})")
        r = BY_ID[rewrite_id]
        out.print(f"[bold]{r.id}[/] ({r.safety.value}) answers {', '.join(sorted(k.value for k in r.answers))}\n", highlight=False)
        out.print(r.doc(), highlight=False, markup=False)
        return 0

    raise typer.Exit(_guard(body))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
    sys.exit(0)
