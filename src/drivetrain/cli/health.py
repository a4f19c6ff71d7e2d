"""``drivetrain health …`` — vehicle health: DTCs, anomalies, diagnosis and predictive maintenance."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.health.dtc import DtcInterpretation, interpret_dtc

app = typer.Typer(
    help="Vehicle health: DTCs, anomalies, diagnosis and predictive maintenance.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_NOT_DESCRIBED = {
    "manufacturer_specific": "(manufacturer-specific: see the manufacturer's service information)",
    "generic_not_described": "(generic SAE code, not described here)",
}


@app.command("dtc")
@handle_errors
def dtc(
    codes: Annotated[
        list[str], typer.Argument(help="SAE J2012 trouble codes, e.g. P0301 P0A7F U0100.")
    ],
    as_json: AsJson = False,
) -> None:
    """Explain diagnostic trouble codes: system, meaning, severity and typical causes.

    Generic (SAE-defined) codes are described; manufacturer-specific ones
    (P1xxx, P30xx-P33xx, C1/C2, B1/B2, U1/U2) are named as such, never guessed.
    Severity: stop_safely, service_soon, monitor (or unknown when not described).
    Example: drivetrain health dtc P0301 P0A7F U0100 --json
    """
    found = [interpret_dtc(code) for code in codes]
    if as_json:
        print_json([_as_json(r) for r in found])
        return
    print_table(
        None,
        ("code", "severity", "defined by", "description"),
        (
            (r.code, r.severity, r.defined_by, r.description or _NOT_DESCRIBED[r.coverage])
            for r in found
        ),
    )
    for r in found:
        where = r.system if r.subsystem is None else f"{r.system} · {r.subsystem}"
        console.print(f"[bold]{r.code}[/] {where}", highlight=False)
        console.print(f"  {r.severity}: {r.severity_reason}", highlight=False)
        if r.causes:
            console.print(f"  typical causes: {'; '.join(r.causes)}", highlight=False)


def _as_json(record: DtcInterpretation) -> dict[str, object]:
    return {**dataclasses.asdict(record), "generic": record.generic}
