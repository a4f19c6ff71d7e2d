"""The HTTP server publishes metadata and images, never keys."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.ota.conftest import VEHICLE, UpdateWorld


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_metadata_and_images_are_served(world: UpdateWorld) -> None:
    world.assign_bms()
    base = world.server.url
    blob = world.image.blob_path(world.bms_image).name

    assert _get(f"{base}/image/metadata/1.root.json") == 200
    assert _get(f"{base}/image/targets/bms/{blob}") == 200
    assert _get(f"{base}/director/{VEHICLE}/metadata/timestamp.json") == 200


@pytest.mark.parametrize(
    "path",
    [
        "/image/keys/keys.json",
        "/image/metadata/../keys/root-1.ed25519.pem",
        "/image/metadata/%2e%2e/keys/root-1.ed25519.pem",
        "/director/../keys/keys.json",
        "/image/metadata/",
    ],
)
def test_keys_and_listings_are_never_served(world: UpdateWorld, path: str) -> None:
    assert _get(f"{world.server.url}{path}") == 404
