"""A TUF fetcher that authenticates: the vehicle's API key on every metadata and image request.

The drivetrain server publishes the repositories under ``/api/v1/ota`` to
callers with scope ``ota:read`` (``drivetrain.api.routers.ota``). TUF itself
needs no transport security for integrity — every byte is checked against
signed metadata — but the director's per-vehicle metadata says what a vehicle
runs, so it is not served to anyone. Implements python-tuf's public
``FetcherInterface`` on urllib3 (python-tuf's own urllib3 fetcher takes no
headers).
"""

from __future__ import annotations

from collections.abc import Iterator

import urllib3
from tuf.api import exceptions as tuf_errors

from drivetrain.errors import InputError
from drivetrain.ota._tuf import FetcherInterface

CHUNK = 400_000


class BearerFetcher(FetcherInterface):
    """Fetch over HTTP(S) sending ``Authorization: Bearer <token>`` (never logged or shown)."""

    def __init__(self, token: str, *, socket_timeout: float = 30.0) -> None:
        if not token or any(c.isspace() for c in token):
            raise InputError("an API key is not empty and has no spaces", hint="dtk_…")
        self._timeout = urllib3.Timeout(socket_timeout)
        self._pool = urllib3.PoolManager(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "drivetrain-ota"}
        )

    def __repr__(self) -> str:
        return "BearerFetcher(token=…)"

    def _fetch(self, url: str) -> Iterator[bytes]:
        try:
            response = self._pool.request(
                "GET", url, preload_content=False, timeout=self._timeout, redirect=False
            )
        except urllib3.exceptions.MaxRetryError as exc:
            if isinstance(exc.reason, urllib3.exceptions.TimeoutError):
                raise tuf_errors.SlowRetrievalError from exc
            raise
        if response.status >= 400:
            response.close()
            raise tuf_errors.DownloadHTTPError(
                f"HTTP error {response.status} for {url}", response.status
            )
        return self._chunks(response)

    @staticmethod
    def _chunks(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        try:
            yield from response.stream(CHUNK)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise tuf_errors.SlowRetrievalError from exc
        finally:
            response.release_conn()
