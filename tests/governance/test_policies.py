"""Regional policies as data: the shipped files and the validation of bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.errors import ConfigError, InputError
from drivetrain.governance.policies import (
    REGIONS,
    load_policy_file,
    load_region_policies,
    region_policy,
)


def test_every_region_ships_a_valid_policy() -> None:
    policies = load_region_policies()
    assert set(policies) == set(REGIONS)
    for policy in policies.values():
        assert policy.rights["access"].deadline_days is not None
        assert policy.rights["erasure"].law
        assert policy.basis_for("marketing", "location") == "consent"


def test_eu_and_us_differ_on_location_for_vehicle_health() -> None:
    eu, us = region_policy("eu"), region_policy("us")
    assert eu.basis_for("vehicle_health", "technical") == "legitimate_interest"
    assert eu.needs_consent("vehicle_health", "location")
    assert eu.needs_consent("vehicle_health", "driving_behaviour")
    assert eu.basis_for("warranty", "technical") == "contract"
    assert not us.needs_consent("vehicle_health", "location")
    assert eu.rights["access"].deadline_days == 30
    assert eu.rights["access"].law == "GDPR Art. 15"
    assert eu.rights["erasure"].law == "GDPR Art. 17"
    assert "Data Act" in eu.rights["data_act_access"].law


def test_cn_data_is_readable_only_from_cn() -> None:
    cn = region_policy("cn")
    assert cn.readable_by("CN") and not cn.readable_by("DE")
    assert region_policy("eu").readable_by("US")
    assert "legitimate_interest" not in cn.bases.values()  # PIPL has no such basis


def test_unknown_region_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown region 'mars'"):
        region_policy("mars")


GOOD = """
region = "eu"
[purposes.vehicle_health]
technical = "legitimate_interest"
[no_subject]
categories = ["technical"]
bases = ["legitimate_interest"]
[rights.access]
law = "GDPR Art. 15"
deadline_days = 30
"""


@pytest.mark.parametrize(
    ("name", "text", "key", "what"),
    [
        ("eu.toml", GOOD.replace('region = "eu"', 'region = "atlantis"'), "region", "unknown region"),
        ("us.toml", GOOD, "region", "does not match the file name"),
        ("eu.toml", "favourite_colour = 'blue'\n" + GOOD, "favourite_colour", "unknown key"),
        ("eu.toml", GOOD.replace("vehicle_health]", "spying]"), "purposes.spying", "unknown purpose"),
        ("eu.toml", GOOD.replace("technical = ", "dna = "), "purposes.vehicle_health.dna", "unknown data category"),
        ("eu.toml", GOOD.replace('"legitimate_interest"\n[no', '"vibes"\n[no'), "purposes.vehicle_health.technical", "unknown legal basis"),
        ("eu.toml", GOOD.replace('bases = ["legitimate_interest"]', 'bases = ["consent"]'), "no_subject.bases", "consent cannot"),
        ("eu.toml", GOOD.replace("deadline_days = 30", "deadline_days = 'soon'"), "rights.access.deadline_days", "not a number"),
        ("eu.toml", GOOD.replace('law = "GDPR', 'statute = "GDPR'), "rights.access.statute", "unknown key"),
        ("eu.toml", GOOD + "\n[residency]\nreadable_from = 'CN'\n", "residency.readable_from", "list of strings"),
    ],
)  # fmt: skip
def test_bad_policy_files_are_refused_naming_file_and_key(
    tmp_path: Path, name: str, text: str, key: str, what: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_policy_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert f": {key}:" in message
    assert what in message


def test_a_good_file_loads_and_defaults_to_consent(tmp_path: Path) -> None:
    path = tmp_path / "eu.toml"
    path.write_text(GOOD, encoding="utf-8")
    policy = load_policy_file(path)
    assert policy.basis_for("vehicle_health", "technical") == "legitimate_interest"
    assert policy.basis_for("vehicle_health", "cabin") == "consent"
    assert policy.allowed_without_subject("vehicle_health", "technical")
    assert not policy.allowed_without_subject("vehicle_health", "location")


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "eu.toml"
    path.write_text("region = ", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"eu\.toml"):
        load_policy_file(path)
