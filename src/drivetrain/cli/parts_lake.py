"""``drivetrain parts import`` and ``drivetrain parts simulate``: parts data into the lake."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from drivetrain.cli.output import console, print_json, print_table, settings_of
from drivetrain.demo.parts_generator import PartsConfig, write_parts_csv
from drivetrain.demo.parts_tour import PartsTour, simulate_parts
from drivetrain.demo.warranty_generator import WarrantyConfig
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.parts_records import PartsImport, import_parts_files
from drivetrain.lake import Lake

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _summary(result: PartsImport, as_json: bool, title: str) -> None:
    if as_json:
        print_json({"run_id": result.run_id, "rows": result.rows, "versions": result.versions,
                    "rejects": [list(r) for r in result.rejects]})  # fmt: skip
        return
    print_table(
        title,
        ("table", "rows", "version"),
        [(t, f"{n:,}", result.versions.get(t)) for t, n in result.rows.items()],
    )
    for where, reason, _ in result.rejects[:10]:
        console.print(f"[yellow]{where}[/]: {reason}", highlight=False)
    if len(result.rejects) > 10:
        console.print(f"[dim]… {len(result.rejects) - 10} more in the quarantine table[/]")


def import_command(
    ctx: typer.Context,
    parts: Annotated[Path, typer.Option(help="The parts master CSV.")],
    locations: Annotated[Path, typer.Option(help="The stocking locations CSV.")],
    demand: Annotated[Path, typer.Option(help="The monthly demand CSV.")],
    fitment: Annotated[
        Path | None,
        typer.Option(help="The parts catalogue's fitment CSV (for vehicle health's signal)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Import an ERP export: parts master, locations and monthly demand (docs/parts.md).

    A bad master row refuses the import with what to fix; a bad demand row (unknown
    part or location, a month not on its first day, a negative or unreadable
    quantity) is quarantined with its line and reason. Importing twice stores once.
    Example: drivetrain parts import --parts parts.csv --locations locations.csv --demand demand.csv
    """
    settings = settings_of(ctx)
    result = import_parts_files(
        Lake(settings.lake_dir), AuditLog(settings.ensure_data_dir()),
        parts=parts, locations=locations, demand=demand, fitment=fitment,
    )  # fmt: skip
    _summary(result, as_json, f"{demand.name} imported")


def simulate_command(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed (of the warranty history too).")] = 7,
    per_model_month: Annotated[
        int, typer.Option(min=10, help="Vehicles built per model and month.")
    ] = 300,
    as_of: Annotated[str, typer.Option("--as-of", help="Last day of the history.")] = "2026-10-31",
    months: Annotated[int, typer.Option(min=13, max=120, help="Months of demand history.")] = 36,
    out: Annotated[
        Path | None, typer.Option(help="Also write the ERP export (parts, locations, demand CSV).")
    ] = None,
    defect_signal: Annotated[
        bool,
        typer.Option(
            "--defect-signal/--no-defect-signal",
            help="Let the simulated fleet signal learn of the supplier defect at its alert "
            "(off: leave it to 'drivetrain parts signal' from warranty's alerts).",
        ),
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Simulate the parts network of the warranty programs' vehicles into the lake.

    Dealers, regional and central warehouses issue parts for the fleet's repairs
    (a bad thermostat lot in Fiat Tipos makes a wave), due maintenance, a brake
    caliper recall and counter sales; the cabin filter is superseded twice. The
    fleet signal is stored with its vintages: before the defect alert, after it,
    and once the recall is announced.
    Example: drivetrain parts simulate && drivetrain parts plan --as parts --fleet
    """
    settings = settings_of(ctx)
    try:
        end = date.fromisoformat(as_of)
    except ValueError:
        raise InputError(
            f"--as-of {as_of!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from None
    data_dir = settings.ensure_data_dir()
    with console.status("simulating the fleet and its parts network …"):
        network, result = simulate_parts(
            Lake(settings.lake_dir), AuditLog(data_dir),
            warranty=WarrantyConfig(seed=seed, per_model_month=per_model_month, as_of=end),
            config=PartsConfig(
                seed=seed, months=months,
                defect_known_from=PartsConfig().defect_known_from if defect_signal else None,
            ),
        )  # fmt: skip
    if out is not None:
        write_parts_csv(network, out)
    _summary(result, as_json, "simulated parts network stored")
    if out is not None and not as_json:
        console.print(f"wrote parts.csv, locations.csv, demand.csv and fitment.csv to {out}")


def print_parts_tour(tour: PartsTour) -> None:
    """The demo's parts section: the network, the backtest where the fleet matters, the plan."""
    rows = tour.stored.rows
    console.print(
        f"stored {rows['parts']} parts, {rows['parts_locations']} locations, "
        f"{rows['parts_demand']:,} part-location-months of demand and "
        f"{rows['parts_fleet_signal']:,} rows of fleet signal (3 vintages); "
        f"{tour.series:,} series after {tour.superseded} superseded series were merged"
    )
    console.print(
        "demand classes: " + ", ".join(f"{k} {v}" for k, v in tour.classes.items()), highlight=False
    )
    first, last = tour.origins[0], tour.origins[-1]
    print_table(
        f"thermostat (defect wave) and caliper (recall), {tour.wave_series} series: "
        f"{len(tour.origins)} origins {first:%Y-%m}..{last:%Y-%m}, 3 months ahead",
        ("model", "RMSE", "RMSSE", "scaled bias"),
        [(r["model"], f"{r['rmse']:.2f}", f"{r['rmsse']:.3f}", f"{r['sbias']:+.3f}")
         for r in tour.scores.iter_rows(named=True)],
    )  # fmt: skip
    totals = [
        p.select(pl.col("expected_on_hand").sum(), pl.col("stock_value").sum(),
                 pl.col("cycle_service").mean(), pl.col("fill_rate").mean()).row(0)
        for p in (tour.plan_history, tour.plan)
    ]  # fmt: skip
    console.print("[dim]each origin sees only the fleet signal issued by then (its vintage)[/]")
    print_table(
        "the network's stocking plan at 95 % cycle service",
        ("forecast", "units on hand", "stock value", "est. cycle service", "est. fill rate"),
        [(name, f"{t[0]:,.0f}", f"{t[1]:,.0f}", f"{t[2]:.3f}", f"{t[3]:.3f}")
         for name, t in zip(("history alone", "with the fleet"), totals, strict=True)],
    )  # fmt: skip
    moved = (
        tour.plan.join(tour.plan_history, on="unique_id", suffix="_history")
        .with_columns((pl.col("order_up_to") - pl.col("order_up_to_history")).alias("change"))
        .sort("change", descending=True)
        .head(5)
    )
    print_table(
        "where the fleet moves the plan most (order-up-to levels)",
        ("series", "history alone", "with the fleet"),
        [(r["unique_id"], f"{r['order_up_to_history']:.0f}", f"{r['order_up_to']:.0f}")
         for r in moved.iter_rows(named=True)],
    )  # fmt: skip
