"""``/api/v1/quality``: characteristics, control charts, capability, Pareto, supplier PPM.

The plant's tables are read for the purpose ``manufacturing_quality`` (quality
engineers; anyone else is refused with 403 ``policy-denied``) with
:func:`~drivetrain.quality.data.load_plant_data`, once per principal and lake
state. Charts and capability come from :mod:`drivetrain.quality.studies`, the
Pareto and supplier quality from :mod:`drivetrain.quality.defects`, as on the
command line, and each study is recorded with its provenance (``output_id``)
the first time it is computed for a principal and lake state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.api.routers.warranty import finite
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.provenance import record_output
from drivetrain.quality.charts import CHARTS
from drivetrain.quality.data import PURPOSE, PlantData, load_plant_data
from drivetrain.quality.defects import lot_trend, pareto, supplier_ppm
from drivetrain.quality.studies import DEFAULT_RULES, capability_study, chart_study

router = APIRouter(prefix="/api/v1/quality", tags=["quality"], responses=PROBLEM_RESPONSES)
QualityReader = Annotated[Caller, Depends(require("quality:read"))]
MODEL = "drivetrain.quality"
T = TypeVar("T")
ChartKind = Literal["xbar_r", "xbar_s", "imr", "p", "np", "c", "u", "ewma", "cusum"]
assert set(CHARTS) == set(get_args(ChartKind))
Moment = Annotated[AwareDatetime | None, Query(description="ISO 8601 with a time zone.")]


def plant_data(request: Request, context: AccessContext) -> PlantData:
    """The plant tables as ``context`` may read them, cached per lake state."""
    services = services_of(request)
    return services.cached(
        ("plant-data", context.principal),
        lambda: load_plant_data(services.lake, context, audit=services.audit),
    )


def recorded(
    request: Request,
    context: AccessContext,
    kind: str,
    key: tuple[Any, ...],
    compute: Callable[[PlantData], tuple[T, dict[str, Any]]],
) -> tuple[T, str]:
    """``compute(data)`` (a result and its parameters) once, recorded as ``kind``."""
    services = services_of(request)
    data = plant_data(request, context)

    def run() -> tuple[T, str]:
        result, params = compute(data)
        output_id = record_output(
            services.audit,
            kind=kind,
            model=MODEL,
            version="1",
            params=params,
            inputs=data.versions,
            sources=data.sources(),
            principal=context.principal.principal_id,
            purpose=context.purpose,
        )
        return result, output_id

    return services.cached((kind, context.principal, *key), run)


class Characteristic(BaseModel):
    characteristic_id: str
    station_id: str
    name: str
    unit: str
    nominal: float | None
    lsl: float | None
    usl: float | None
    subgroup_size: int
    chart: str = Field(description="The chart the master names for it.")


@router.get("/characteristics", response_model=list[Characteristic], summary="The characteristics")
def characteristics(request: Request, caller: QualityReader) -> list[Characteristic]:
    data = plant_data(request, access_context(request, caller, PURPOSE))
    fields = list(Characteristic.model_fields)
    return [
        Characteristic.model_validate(finite(r))
        for r in data.characteristics.select(fields).to_dicts()
    ]


class ChartPoint(BaseModel):
    subgroup: int
    statistic: str = Field(description="What is plotted: xbar, r, s, x, mr, p, ewma…")
    value: float | None
    center: float | None
    lcl: float | None
    ucl: float | None
    size: float | None
    used: bool | None = Field(description="Phase I: counted in the limits.")
    signal: bool
    phase: str = Field(description="I: sets the limits; II: judged against them.")


class Signal(BaseModel):
    subgroup: int
    statistic: str
    phase: str
    value: float | None
    rules: list[str]
    reason: str


class Limits(BaseModel):
    statistic: str
    center: float | None
    lcl: float | None
    ucl: float | None


class ControlChart(BaseModel):
    characteristic_id: str
    chart: str
    rules: list[str]
    parameters: dict[str, Any] = Field(description="Phase I estimates: center, sigma, used…")
    limits: list[Limits]
    points: list[ChartPoint]
    signals: list[Signal]
    output_id: str


@router.get(
    "/characteristics/{characteristic_id}/chart",
    response_model=ControlChart,
    summary="A characteristic's control chart: points, limits, signals",
)
def chart(
    characteristic_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    caller: QualityReader,
    kind: Annotated[
        ChartKind | None, Query(alias="chart", description="Default: the master's.")
    ] = None,
    phase1_until: Moment = None,
    rules: Annotated[
        str,
        Query(
            pattern=r"^[a-z0-9_]+(,[a-z0-9_]+)*$",
            max_length=200,
            description="western_electric, nelson, limits, or rule ids (nelson1,we4).",
        ),
    ] = DEFAULT_RULES,
) -> ControlChart:
    context = access_context(request, caller, PURPOSE)

    def compute(data: PlantData) -> tuple[Any, dict[str, Any]]:
        study = chart_study(
            data, characteristic_id, chart=kind, phase1_until=phase1_until, rules=rules
        )
        p = study.parameters
        params = {
            "characteristic_id": characteristic_id,
            "chart": study.chart,
            "rules": list(study.rules),
            "phase1_until": phase1_until and phase1_until.isoformat(),
            "center": p.get("center"),
            "sigma": p.get("sigma"),
            "signals": study.signals.height,
        }
        return study, params

    key = (characteristic_id, kind, phase1_until, rules)
    study, output_id = recorded(request, context, "quality_chart", key, compute)
    points = study.points.select(list(ChartPoint.model_fields)).to_dicts()
    signals = study.signals.select(list(Signal.model_fields)).to_dicts()
    return ControlChart(
        characteristic_id=characteristic_id,
        chart=study.chart,
        rules=list(study.rules),
        parameters=finite(study.parameters),
        limits=[Limits.model_validate(finite(r)) for r in study.limits().to_dicts()],
        points=[ChartPoint.model_validate(finite(r)) for r in points],
        signals=[Signal.model_validate(finite(r)) for r in signals],
        output_id=output_id,
    )


class Capability(BaseModel):
    characteristic: str
    n: int
    method: str | None = Field(description="normal, or the distribution fitted instead.")
    mean: float | None
    sigma_within: float | None
    sigma_overall: float | None
    lsl: float | None
    usl: float | None
    target: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    cpm: float | None
    cpk_low: float | None = Field(description="95 % interval of Cpk.")
    cpk_high: float | None
    ppm_total: float | None = Field(description="Expected parts per million out of spec.")
    observed_ppm: float | None
    normality_p: float | None
    normal: bool | None
    notes: list[str]
    error: str | None


class CapabilityTable(BaseModel):
    until: datetime | None
    characteristics: list[Capability]
    output_id: str


@router.get("/capability", response_model=CapabilityTable, summary="Process capability")
def capability(request: Request, caller: QualityReader, until: Moment = None) -> CapabilityTable:
    context = access_context(request, caller, PURPOSE)

    def compute(data: PlantData) -> tuple[pl.DataFrame, dict[str, Any]]:
        table = capability_study(data, until)
        return table, {"until": until and until.isoformat(), "characteristics": table.height}

    table, output_id = recorded(request, context, "quality_capability", (until,), compute)
    rows = table.select(list(Capability.model_fields)).to_dicts()
    return CapabilityTable(
        until=until,
        characteristics=[Capability.model_validate(finite(r)) for r in rows],
        output_id=output_id,
    )


class ParetoBar(BaseModel):
    category: str | None
    count: int
    defects: float | None = Field(description="The weight: defects found.")
    share: float | None
    cumulative_share: float | None
    rank: int
    vital: bool = Field(description="Among the vital few (80 %).")


class Pareto(BaseModel):
    by: str
    findings: int = Field(description="Failed inspections.")
    bars: list[ParetoBar]
    output_id: str


@router.get("/pareto", response_model=Pareto, summary="Pareto of the failed inspections")
def pareto_chart(
    request: Request,
    caller: QualityReader,
    by: Literal["defect_code", "station_id", "shift", "lot_id"] = "defect_code",
    since: Moment = None,
    until: Moment = None,
) -> Pareto:
    context = access_context(request, caller, PURPOSE)

    def compute(data: PlantData) -> tuple[tuple[int, pl.DataFrame], dict[str, Any]]:
        inspections = data.inspections
        if inspections is None or inspections.is_empty():
            raise InputError("the lake holds no inspections", hint="import inspections.csv")
        if since is not None:
            inspections = inspections.filter(pl.col("ts") >= since)
        if until is not None:
            inspections = inspections.filter(pl.col("ts") < until)
        failed = inspections.filter(pl.col("result") == "fail")
        if failed.is_empty():
            raise InputError("no failed inspection in that period", hint="widen since/until")
        table = pareto(failed, by, weight="defects", missing="label")
        params = {
            "by": by,
            "since": since and since.isoformat(),
            "until": until and until.isoformat(),
            "findings": failed.height,
        }
        return (failed.height, table), params

    (findings, table), output_id = recorded(
        request, context, "quality_pareto", (by, since, until), compute
    )
    bars = table.rename({by: "category"}).with_columns(pl.col("category").cast(pl.String))
    return Pareto(
        by=by,
        findings=findings,
        bars=[ParetoBar.model_validate(finite(r)) for r in bars.to_dicts()],
        output_id=output_id,
    )


class SupplierPpm(BaseModel):
    supplier: str
    part_number: str
    lots: int
    inspected: int
    defective: int
    ppm: float | None
    ppm_lower: float | None = Field(description="Exact 95 % bounds.")
    ppm_upper: float | None


class FlaggedLot(BaseModel):
    lot_id: str
    supplier: str
    part_number: str
    received_date: date
    inspected: int
    defective: int
    ppm: float | None
    ucl_ppm: float | None = Field(description="The lot's probability limit.")


class Suppliers(BaseModel):
    lots: int
    ppm: list[SupplierPpm]
    flagged: list[FlaggedLot] = Field(description="Lots above their limit.")
    output_id: str


@router.get("/suppliers", response_model=Suppliers, summary="Supplier PPM and flagged lots")
def suppliers(request: Request, caller: QualityReader) -> Suppliers:
    context = access_context(request, caller, PURPOSE)

    def compute(data: PlantData) -> tuple[tuple[int, pl.DataFrame, pl.DataFrame], dict[str, Any]]:
        if data.lots is None or data.lots.is_empty():
            raise InputError("the lake holds no supplier lots", hint="import lots.csv")
        ppm = supplier_ppm(data.lots, by=("supplier", "part_number"), lot="lot_id")
        flagged = lot_trend(data.lots, lot="lot_id").flagged()
        params = {"lots": data.lots.height, "flagged": flagged.get_column("lot_id").to_list()}
        return (data.lots.height, ppm, flagged), params

    (lots, ppm, flagged), output_id = recorded(request, context, "quality_suppliers", (), compute)
    return Suppliers(
        lots=lots,
        ppm=[SupplierPpm.model_validate(finite(r)) for r in ppm.to_dicts()],
        flagged=[
            FlaggedLot.model_validate(finite(r))
            for r in flagged.select(list(FlaggedLot.model_fields)).to_dicts()
        ],
        output_id=output_id,
    )
