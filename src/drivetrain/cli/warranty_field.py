"""``drivetrain warranty similar`` and ``themes``: field support for a service case."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import polars as pl
import typer

from drivetrain.cli.output import handle_errors, print_json, print_table, settings_of
from drivetrain.cli.warranty_common import AsJson, AsPrincipal, load_data
from drivetrain.errors import NotFound
from drivetrain.warranty import ServiceCase, failure_themes, similar_claims, suggest_repairs


@handle_errors
def similar_command(
    ctx: typer.Context,
    symptoms: Annotated[str, typer.Argument(help="What the customer and technician see.")],
    as_: AsPrincipal,
    dtc: Annotated[list[str] | None, typer.Option("--dtc", help="Stored codes (repeat).")] = None,
    model: Annotated[str | None, typer.Option(help="The vehicle's model id.")] = None,
    vehicle: Annotated[
        str | None, typer.Option(help="The vehicle's pseudonym: its model, its own past claims.")
    ] = None,
    k: Annotated[int, typer.Option(help="Similar claims to show.", min=1)] = 5,
    as_json: AsJson = False,
) -> None:
    """Field support: past claims like this service case, and the repairs that held.

    Ranks claims by the technician comments' similarity to the symptoms (TF-IDF
    words and character n-grams), the DTCs and the model; a repair held when the
    vehicle did not come back for the same part within 90 days.
    Example: drivetrain warranty similar "heater blows cold, engine slow to warm up" --dtc P0128 --vehicle veh_3fa9c01b2e7d4a10 --as warranty
    """
    settings = settings_of(ctx)
    data, _, _ = load_data(settings, as_)
    if vehicle is not None and model is None:
        found = data.production.filter(pl.col("vehicle_id") == vehicle)["model_id"]
        if found.is_empty():
            raise NotFound(
                f"vehicle {vehicle!r} is not in the production records this principal may read",
                hint="give its pseudonym (veh_…) as in 'drivetrain fleet list', or --model",
            )
        model = str(found[0])
    case = ServiceCase(symptoms=symptoms, dtcs=tuple(dtc or ()), model_id=model, vehicle_id=vehicle)
    models = data.production.select("vehicle_id", "model_id") if model else None
    similar = similar_claims(data.claims, case, models=models, k=k)
    repairs = suggest_repairs(data.claims, case, models=models)
    if as_json:
        print_json({"similar": similar.to_dicts(), "repairs": repairs.to_dicts()})
        return
    print_table(
        "repairs that held on similar cases",
        ("part", "labour", "part no.", "claims", "held", "median cost"),
        (
            (r["causal_part"], r["labour_code"], r["part_number"], r["claims"],
             "?" if r["fixed_share"] is None else f"{r['fixed_share']:.0%}",
             f"{r['median_cost']:,.0f}")
            for r in repairs.head(5).iter_rows(named=True)
        ),
    )  # fmt: skip
    print_table(
        f"{similar.height} most similar claims",
        ("claim", "part", "code", "score", "held", "comment"),
        (
            (r["claim_id"] + (" (this vehicle)" if r["same_vehicle"] else ""), r["causal_part"],
             r["failure_code"], f"{r['score']:.2f}",
             {True: "yes", False: "no", None: "?"}[r["fixed"]], r["comment"])
            for r in similar.iter_rows(named=True)
        ),
    )  # fmt: skip


@handle_errors
def themes_command(
    ctx: typer.Context,
    as_: AsPrincipal,
    component: Annotated[str | None, typer.Option(help="Only claims of this causal part.")] = None,
    model: Annotated[str | None, typer.Option(help="Only vehicles of this model id.")] = None,
    themes: Annotated[
        int | None, typer.Option(help="Number of themes (default: by parts).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Summarise technician comments into failure themes (TF-IDF + NMF).

    Example: drivetrain warranty themes --as warranty --model fiat-tipo
    """
    settings = settings_of(ctx)
    data, _, _ = load_data(settings, as_)
    claims = data.claims
    if component:
        claims = claims.filter(pl.col("causal_part") == component)
    if model:
        ids = data.production.filter(pl.col("model_id") == model).select("vehicle_id")
        claims = claims.join(ids, on="vehicle_id", how="semi")
    found = failure_themes(claims, n_themes=themes)
    if as_json:
        print_json([dataclasses.asdict(t) for t in found])
        return
    print_table(
        f"failure themes in {claims.height:,} claims",
        ("theme", "claims", "share", "parts", "example"),
        (
            (t.label, t.claims, f"{t.share:.0%}",
             ", ".join(f"{p} {n}" for p, n in t.components),
             t.examples[0] if t.examples else "")
            for t in found
        ),
    )  # fmt: skip
