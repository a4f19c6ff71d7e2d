"""``drivetrain catalog …`` — the signal catalog and vehicle models."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.catalog import (
    get_vehicle_model,
    import_vss,
    load_dbc,
    load_signal_catalog,
    load_vehicle_models,
    use_imported_catalog,
    write_catalog,
)
from drivetrain.catalog.manifest_check import check_manifest
from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.health.dtc import interpret_dtc
from drivetrain.settings import Settings

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


@app.command("import-vss")
@handle_errors
def import_vss_command(
    ctx: typer.Context,
    vspec: Annotated[Path, typer.Argument(help="Root .vspec file of the VSS tree.")],
    overlay: Annotated[
        list[Path] | None, typer.Option(help="Overlay .vspec file (repeatable), e.g. an OEM's.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import a full VSS tree (and overlays) into this data directory's catalog.

    Every sensor, actuator and attribute gets a data category (category_overrides
    in drivetrain.toml change the defaults). The imported signals extend the
    shipped catalog for every later command.
    Example: drivetrain catalog import-vss spec/VehicleSignalSpecification.vspec
    --overlay overlays/extensions/OBD.vspec
    """
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    signals = import_vss(
        vspec, overlays=tuple(overlay or ()), overrides=settings.category_overrides
    )
    target = settings.imported_catalog
    write_catalog(signals, target, source=str(vspec))
    use_imported_catalog(target)
    counts = Counter((s.type, s.category) for s in signals)
    if as_json:
        print_json(
            {
                "signals": len(signals),
                "file": str(target),
                "by_category": Counter(s.category for s in signals),
            }
        )
        return
    print_table(
        f"imported {len(signals)} signals into {target}",
        ("type", "category", "signals"),
        ((t, c, n) for (t, c), n in sorted(counts.items())),
    )
    console.print(f"catalog now holds {len(load_signal_catalog())} signals")


@app.command("dtc")
@handle_errors
def dtc(code: Annotated[str, typer.Argument(help="A DTC such as P0128.")]) -> None:
    """Describe a diagnostic trouble code (SAE J2012); `drivetrain health dtc` says more.

    Example: drivetrain catalog dtc P0128
    """
    meaning = interpret_dtc(code)
    text = meaning.description or (
        "manufacturer-specific code" if meaning.defined_by == "manufacturer" else "not described"
    )
    console.print(f"{meaning.code}: {text}", highlight=False)


manifest_app = typer.Typer(help="Decoder manifests of the vehicle models.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")


@manifest_app.command("check")
@handle_errors
def manifest_check(
    model: Annotated[str, typer.Argument(help="Vehicle model id, e.g. peugeot-308.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a model's manifest: carrier ranges vs VSS ranges, unmapped DBC signals, gaps.

    Example: drivetrain catalog manifest check hyundai-i30
    """
    report = check_manifest(get_vehicle_model(model))
    if as_json:
        print_json(dataclasses.asdict(report))
        return
    console.print(f"[bold]{report.model_id}[/]: {report.bindings} bindings")
    print_table(
        f"{len(report.ranges)} range finding(s)",
        ("VSS signal", "carrier", "finding"),
        ((r.vss, r.carrier, r.problem) for r in report.ranges),
    )
    print_table(
        f"{len(report.unmapped_dbc_signals)} physical DBC signal(s) in bound messages not mapped",
        ("DBC signal",),
        ((s,) for s in report.unmapped_dbc_signals),
    )
    console.print(
        f"{len(report.unreported_catalog_signals)} catalog signal(s) this model does not report"
    )


@app.command("models")
@handle_errors
def models(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the vehicle models with their brand, powertrain, carriers and markets.

    Example: drivetrain catalog models
    """
    found = sorted(load_vehicle_models().values(), key=lambda m: m.id)
    if as_json:
        print_json(
            [
                {
                    "id": m.id,
                    "brand": m.brand,
                    "name": m.name,
                    "powertrain": m.powertrain,
                    "dbc": list(m.dbc_files),
                    "markets": list(m.markets),
                    "signals": len(m.bindings),
                }
                for m in found
            ]
        )
        return
    print_table(
        f"{len(found)} vehicle model(s)",
        ("id", "brand", "powertrain", "carriers", "markets", "signals"),
        (
            (
                m.id,
                m.brand,
                m.powertrain,
                ", ".join(m.dbc_files) or "OBD-II",
                " ".join(m.markets),
                len(m.bindings),
            )
            for m in found
        ),
    )


@app.command("dbc")
@handle_errors
def dbc(
    name: Annotated[str, typer.Argument(help="opendbc DBC name (e.g. psa_aee2010_r3) or a path.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Load a DBC file and show its messages and what the parser had to tolerate.

    drivetrain's parser loads every DBC opendbc ships, including the ones cantools
    refuses; each tolerated irregularity is listed with its line and column.
    Example: drivetrain catalog dbc fca_giorgio
    """
    db = load_dbc(name)
    kinds = Counter(s.kind for m in db.messages.values() for s in m.signals.values())
    if as_json:
        print_json(
            {
                "name": db.name,
                "messages": len(db.messages),
                "signals": dict(kinds),
                "warnings": [str(w) for w in db.warnings],
            }
        )
        return
    console.print(
        f"[bold]{db.name}[/]: {len(db.messages)} messages, "
        f"{kinds['physical']} physical signals, {kinds['counter']} counters, "
        f"{kinds['checksum']} checksums"
    )
    print_table(
        f"{len(db.warnings)} tolerated irregularit{'y' if len(db.warnings) == 1 else 'ies'}",
        ("line:column", "what"),
        ((f"{w.line}:{w.column}", w.message) for w in db.warnings),
    )
