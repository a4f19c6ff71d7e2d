"""``/api/v1/ota``: the image and director repositories, published to vehicles.

What a vehicle's TUF client fetches (docs/ota.md): the image repository's
metadata and images, and the director's metadata *for that vehicle*. Every
route needs scope ``ota:read``; the director's routes also need the caller to
be allowed the vehicle's registry row for ``vehicle_health`` (the update
service's role ``ota_service`` is), since they say what the vehicle runs. Only
the signed files are reachable — never ``keys/``, never a listing — and names
are checked against the repository's own naming before any path is built.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.api.routers.fleet import one_vehicle

router = APIRouter(prefix="/api/v1/ota", tags=["ota"], responses=PROBLEM_RESPONSES)
OtaReader = Annotated[Caller, Depends(require("ota:read"))]
PURPOSE = "vehicle_health"
_METADATA = re.compile(r"^(?:[1-9][0-9]{0,8}\.)?(?:root|targets|snapshot|timestamp)\.json$")
_TARGET_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def _ota_dir(request: Request) -> Path:
    return services_of(request).settings.data_dir / "ota"


def _file(folder: Path, parts: list[str], media_type: str) -> FileResponse:
    path = folder.joinpath(*parts)
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except OSError:
        inside = False
    if not inside or not path.is_file():
        raise ApiProblem(404, "not-found", f"no such repository file: {'/'.join(parts)}")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-store"})


def _metadata_name(name: str) -> str:
    if not _METADATA.fullmatch(name):
        raise ApiProblem(404, "not-found", f"no such metadata file: {name[:80]}")
    return name


_JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}, "description": "Signed TUF metadata"}
}
_BYTES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "The image"}
}


@router.get(
    "/image/metadata/{name}",
    response_class=FileResponse,
    responses=_JSON,
    summary="Image repository metadata (TUF)",
)
def image_metadata(name: str, request: Request, caller: OtaReader) -> FileResponse:
    access_context(request, caller, PURPOSE)
    return _file(
        _ota_dir(request) / "image" / "metadata", [_metadata_name(name)], "application/json"
    )


@router.get(
    "/image/targets/{path:path}",
    response_class=FileResponse,
    responses=_BYTES,
    summary="A released image (TUF target)",
)
def image_target(path: str, request: Request, caller: OtaReader) -> FileResponse:
    access_context(request, caller, PURPOSE)
    parts = path.split("/")
    if not 1 <= len(parts) <= 8 or not all(_TARGET_PART.fullmatch(p) for p in parts):
        raise ApiProblem(404, "not-found", "no such image")
    return _file(_ota_dir(request) / "image" / "targets", parts, "application/octet-stream")


@router.get(
    "/director/{vehicle_id}/metadata/{name}",
    response_class=FileResponse,
    responses=_JSON,
    summary="Director metadata for one vehicle (TUF)",
)
def director_metadata(
    vehicle_id: str, name: str, request: Request, caller: OtaReader
) -> FileResponse:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    folder = _ota_dir(request) / "director" / "vehicles" / vehicle.vehicle_id / "metadata"
    return _file(folder, [_metadata_name(name)], "application/json")
