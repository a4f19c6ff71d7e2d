"""Sign-ins for the demo's people: a fresh random password each, printed by the demo."""

from __future__ import annotations

import secrets

from drivetrain.governance.identity import set_password
from drivetrain.settings import Settings
from drivetrain.state import session_scope

#: The demo principals who sign in to the console (services use API keys).
CONSOLE_USERS: tuple[str, ...] = (
    "fleet-health",
    "analyst-peugeot",
    "warranty",
    "parts",
    "quality",
    "engineer",
    "cockpit-engineer",
    "dpo-eu",
)
_WORDS = (
    "amber", "brake", "cable", "delta", "ember", "fender", "gear", "harbor", "ignite",
    "jolt", "kilo", "lumen", "motor", "nickel", "orbit", "piston", "quartz", "rotor",
    "spark", "torque", "umber", "valve", "wheel", "xenon", "yaw", "zinc",
)  # fmt: skip


def new_password() -> str:
    """Four random words and two digits (about 25 bits from the words, 32 in all)."""
    words = [secrets.choice(_WORDS) for _ in range(4)]
    return "-".join(words) + f"-{secrets.randbelow(100):02d}"


def create_console_logins(
    settings: Settings, users: tuple[str, ...] = CONSOLE_USERS
) -> dict[str, str]:
    """Give each demo user a new random password; returns them (to print once)."""
    passwords = {user: new_password() for user in users}
    with session_scope(settings.resolved_state_url) as session:
        for user, password in passwords.items():
            set_password(session, user, password)
    return passwords
