"""``drivetrain catalog …`` — the signal catalog and vehicle models."""

from __future__ import annotations

from typing import Annotated

import typer

from drivetrain.catalog import load_signal_catalog, load_vehicle_models
from drivetrain.cli.output import handle_errors, print_json, print_table

app = typer.Typer(help="The signal catalog (VSS) and the vehicle models.", no_args_is_help=True)


@app.command("search")
@handle_errors
def search(
    text: Annotated[str, typer.Argument(help="Words to find in VSS paths and descriptions.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find catalog signals whose path or description contains every word of TEXT.

    Example: drivetrain catalog search "tire pressure"
    """
    words = text.lower().split()
    models = load_vehicle_models().values()
    hits = [
        s
        for s in load_signal_catalog().values()
        if all(w in f"{s.path} {s.description}".lower() for w in words)
    ]
    found = [
        (s, [m.id for m in models if m.binding(s.path) is not None])
        for s in sorted(hits, key=lambda s: s.path)
    ]
    if as_json:
        print_json(
            [
                {
                    "path": s.path,
                    "unit": s.unit,
                    "datatype": s.datatype,
                    "category": s.category,
                    "models": reporting,
                    "description": s.description,
                }
                for s, reporting in found
            ]
        )
        return
    print_table(
        f"{len(found)} signal(s) matching {text!r}",
        ("path", "unit", "category", "models reporting it"),
        ((s.path, s.unit, s.category, ", ".join(reporting)) for s, reporting in found),
    )
