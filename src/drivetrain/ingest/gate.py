"""The collection gate of one ingestion run, built from the control plane.

Every source that stores vehicle data (CAN and OBD-II logs, the MQTT gateway,
the fleet simulator) passes its rows through one :class:`CampaignFilter`
built here: the active campaigns (minimisation), a legal-basis index per
purpose they serve (consent and regional policy), and a sealer that encrypts
personal signals under their data subjects' keys. Building it creates the data
keys it needs in ``session``; the caller commits before storing anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from drivetrain.governance.keys import Keyring
from drivetrain.governance.legal_basis import LegalBasisIndex
from drivetrain.governance.sealing import Sealer
from drivetrain.ingest.campaigns import Campaign, CampaignFilter, VehicleTarget


def collection_gate(
    session: Session,
    keyring: Keyring,
    campaigns: Sequence[Campaign],
    targets: Mapping[str, VehicleTarget],
    since: datetime | None = None,
    until: datetime | None = None,
) -> CampaignFilter:
    """The gate for ``targets`` (vehicle id → brand/model/market) under ``campaigns``.

    ``since``/``until`` bound the time of the data to come (the legal-basis
    index loads consent history for that window; open-ended by default).
    """
    ids = list(targets)
    purposes = sorted({c.purpose for c in campaigns if c.status == "active"})
    legal_bases = {p: LegalBasisIndex.build(session, ids, p, since, until) for p in purposes}
    sealer = Sealer.build(session, keyring, ids)
    return CampaignFilter(campaigns, targets, legal_bases=legal_bases, sealer=sealer)
