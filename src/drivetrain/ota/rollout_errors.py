"""The errors of OTA campaigns and staged rollouts, on top of ``drivetrain.errors``.

InputError
├── CampaignInputError  a release or campaign was defined with an invalid value
├── CampaignRefused     a campaign cannot start: it targets nothing, or overlaps
│                       another running campaign on the same vehicles and ECU
└── CampaignStateError  the operation does not fit the campaign's status
IntegrityError
└── ImpossibleVersion   a vehicle reports a version the image repository never had
                        for its hardware (the report is refused and audited)
"""

from __future__ import annotations

from drivetrain.errors import InputError, IntegrityError


class CampaignInputError(InputError):
    """A release, campaign or gate setting is invalid."""

    code = "ota-campaign-input"


class CampaignRefused(InputError):
    """A campaign cannot start (targets nothing, or conflicts with a running one)."""

    code = "ota-campaign-refused"


class CampaignStateError(InputError):
    """The operation is not possible in the campaign's current status."""

    code = "ota-campaign-state"


class ImpossibleVersion(IntegrityError):
    """A vehicle reports software that was never released for its hardware."""

    code = "ota-impossible-version"
