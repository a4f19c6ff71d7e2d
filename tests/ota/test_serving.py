"""``/api/v1/ota``: python-tuf's own client refreshes and downloads from the drivetrain server.

A real uvicorn server over a demo data directory; the client is python-tuf's
``ngclient.Updater`` with drivetrain's authenticating fetcher.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater

from drivetrain.api import create_api
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.identity import issue_api_key
from drivetrain.ota import DirectorRepository, EcuAssignment, ImageRepository
from drivetrain.ota.fetcher import BearerFetcher
from drivetrain.settings import Settings
from drivetrain.state import session_scope
from tests.demo_data import build_demo, serve

IMAGE = b"BMS firmware 3.0.0\n" + bytes(range(256)) * 64


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, str, dict[str, VehicleRecord]]]:
    settings, _ = build_demo(tmp_path_factory.mktemp("ota-serving"))
    ota = settings.data_dir / "ota"
    image = ImageRepository.create(ota / "image")
    director = DirectorRepository.create(ota / "director")
    released = image.add_image(
        "bms/bms-3.0.0.bin", IMAGE, hardware_id="bms-hw", version="3.0.0", release_counter=30
    )
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    eu = next(v for v in fleet if v.region == "eu")
    cn = next(v for v in fleet if v.region == "cn")
    for vehicle in (eu, cn):
        director.assign(vehicle.vehicle_id, [EcuAssignment("BMS-1", "bms-hw", released)])
    with serve(create_api(settings)) as base:
        yield settings, base, {"eu": eu, "cn": cn}


def _token(settings: Settings, principal: str, *scopes: str) -> str:
    with session_scope(settings.resolved_state_url) as session:
        return issue_api_key(session, principal, scopes, label="test")[1]


def _updater(
    tmp: Path, metadata_url: str, root: bytes, token: str, targets: str | None = None
) -> Updater:
    tmp.mkdir(parents=True, exist_ok=True)
    return Updater(
        str(tmp), metadata_url, target_dir=str(tmp), target_base_url=targets,
        fetcher=BearerFetcher(token), bootstrap=root,
    )  # fmt: skip


@pytest.mark.slow
def test_a_tuf_client_refreshes_and_downloads_through_the_api(
    world: tuple[Settings, str, dict[str, VehicleRecord]], tmp_path: Path
) -> None:
    settings, base, vehicles = world
    token = _token(settings, "ota-service", "ota:read")
    image_root = ImageRepository(settings.data_dir / "ota" / "image").root_bytes(1)
    image = _updater(tmp_path / "image", f"{base}/api/v1/ota/image/metadata/", image_root, token,
                     f"{base}/api/v1/ota/image/targets/")  # fmt: skip
    image.refresh()
    info = image.get_targetinfo("bms/bms-3.0.0.bin")
    assert info is not None and info.length == len(IMAGE)
    assert Path(image.download_target(info)).read_bytes() == IMAGE  # length and hashes checked
    director_root = DirectorRepository(settings.data_dir / "ota" / "director").root_bytes(1)
    vid = vehicles["eu"].vehicle_id
    director = _updater(tmp_path / "director", f"{base}/api/v1/ota/director/{vid}/metadata/",
                        director_root, token)  # fmt: skip
    director.refresh()
    assigned = director.get_targetinfo("bms/bms-3.0.0.bin")
    assert assigned is not None and assigned.hashes == info.hashes


@pytest.mark.slow
def test_the_routes_need_the_scope_and_the_vehicle_and_serve_only_signed_files(
    world: tuple[Settings, str, dict[str, VehicleRecord]], tmp_path: Path
) -> None:
    settings, base, vehicles = world
    good = {"Authorization": f"Bearer {_token(settings, 'ota-service', 'ota:read')}"}
    path = f"{base}/api/v1/ota/image/metadata/timestamp.json"
    assert httpx.get(path).status_code == 401
    wrong = {"Authorization": f"Bearer {_token(settings, 'ota-service', 'fleet:read')}"}
    assert httpx.get(path, headers=wrong).status_code == 403
    assert httpx.get(path, headers=good).status_code == 200
    for name in ("keys.json", "..%2Fkeys%2Fkeys.json", "1.root.json.bak", "0.root.json"):
        assert (
            httpx.get(f"{base}/api/v1/ota/image/metadata/{name}", headers=good).status_code == 404
        )
    for target in ("../keys/keys.json", "bms/..%2F..%2Fkeys%2Fkeys.json", ".hidden"):
        answer = httpx.get(f"{base}/api/v1/ota/image/targets/{target}", headers=good)
        assert answer.status_code == 404 and "BEGIN" not in answer.text
    cn = vehicles["cn"].vehicle_id  # ota-service may not read vehicles of region cn
    refused = httpx.get(f"{base}/api/v1/ota/director/{cn}/metadata/timestamp.json", headers=good)
    assert refused.status_code == 404
    director_root = DirectorRepository(settings.data_dir / "ota" / "director").root_bytes(1)
    client = _updater(tmp_path / "cn", f"{base}/api/v1/ota/director/{cn}/metadata/",
                      director_root, good["Authorization"].split()[1])  # fmt: skip
    with pytest.raises(DownloadHTTPError):
        client.refresh()
    assert "dtk_secret" not in repr(BearerFetcher("dtk_secret"))  # the key is never shown
