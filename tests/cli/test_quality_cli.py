"""``drivetrain quality …`` end to end: simulate, import, chart, capability, pareto, suppliers,
sampling, watch (replay, file drop, a real MQTT broker) and trace, on one simulated plant."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import polars as pl
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from typer.testing import CliRunner, Result

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.governance.audit import AuditLog
from drivetrain.lake import Lake
from tests.ingest.conftest import MOSQUITTO, Broker

runner = CliRunner()
pytestmark = pytest.mark.slow
CUTOFF = "2024-02-01T00:00:00Z"


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("quality")
    (data / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    result = run(data, "quality", "simulate", "--out", str(data / "plant"), "--per-model-month", "40", "--json")  # fmt: skip
    stored = ok(result)["rows"]
    assert stored["quality_measurements"] == 5760 and stored["vehicle_build_parts"] > 0
    return data


def run(data: Path, *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data), *args])


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_import_again_stores_nothing_new(plant: Path) -> None:
    before = Lake(plant / "lake").read("quality_measurements").num_rows
    again = ok(run(plant, "quality", "import", str(plant / "plant"), "--json"))
    assert again["rows"]["quality_measurements"] == 5760
    assert Lake(plant / "lake").read("quality_measurements").num_rows == before


def test_chart_finds_the_bad_lot_from_its_first_subgroup_and_records_it(plant: Path) -> None:
    png = plant / "th.png"
    out = ok(run(plant, "quality", "chart", "TH-OPEN", "--as", "quality", "--phase1-until", CUTOFF, "--rules", "limits", "--plot", str(png), "--json"))  # fmt: skip
    phase2 = [s for s in out["signals"] if s["phase"] == "II" and s["statistic"] == "xbar"]
    assert phase2 and phase2[0]["subgroup"] == 241
    assert Image.open(png).size == (960, 600)
    outputs = [e for e in AuditLog(plant).entries("ai_output") if e.details["output_id"] == out["output_id"]]  # fmt: skip
    assert outputs and outputs[0].details["params"]["characteristic_id"] == "TH-OPEN"
    refused = run(plant, "quality", "chart", "NOPE", "--as", "quality")
    assert refused.exit_code == 65 and "known: " in refused.stderr


def test_a_principal_without_the_quality_role_is_refused(plant: Path) -> None:
    result = run(plant, "quality", "chart", "TH-OPEN", "--as", "parts")
    assert result.exit_code == 77, result.stderr


def test_capability_pareto_suppliers_and_sampling(plant: Path) -> None:
    caps = {r["characteristic"]: r for r in ok(run(plant, "quality", "capability", "--as", "quality", "--until", CUTOFF, "--json"))["capability"]}  # fmt: skip
    assert caps["LEAK"]["method"] != "normal" and caps["LEAK"]["cp"] is None  # skewed, one-sided
    assert 1.3 < caps["WP-BORE"]["cpk"] < 2.0  # designed ±5σ limits: Cpk ≈ 1.67
    after = ok(run(plant, "quality", "pareto", "--as", "quality", "--since", CUTOFF, "--json"))["pareto"]  # fmt: skip
    before = ok(run(plant, "quality", "pareto", "--as", "quality", "--until", CUTOFF, "--json"))["pareto"]  # fmt: skip
    share = lambda rows: next(r["share"] for r in rows if r["defect_code"] == "LEAK-TH")
    assert share(after) > 2 * share(before)  # the bad lot's housings leak
    suppliers = ok(run(plant, "quality", "suppliers", "--as", "quality", "--json"))
    assert "LOT-TH-2402-B" in [r["lot_id"] for r in suppliers["flagged"]]
    plan = ok(run(plant, "quality", "sampling", "--lot-size", "5000", "--aql", "1.0", "--json"))["plan"]  # fmt: skip
    assert (plan["code_letter"], plan["sample_size"], plan["accept"], plan["reject"]) == ("L", 200, 5, 6)  # fmt: skip


def test_watch_replays_the_stream_and_alerts_on_lot_and_drift(plant: Path) -> None:
    out = ok(run(plant, "quality", "watch", "--as", "quality", "--replay", "--json"))
    alerts = [(a["characteristic_id"], a["subgroup"]) for a in out["alerts"]]
    assert alerts == [("TH-OPEN", 241), ("CH-TORQUE", alerts[1][1])] and 275 <= alerts[1][1] <= 282
    assert out["alerts"][0]["lots"] == ["LOT-TH-2402-B"] and out["alerts"][0]["alert_id"].startswith("out-")  # fmt: skip
    assert out["counts"]["measurements"] == 960 and out["counts"]["refused"] == 0


def _measurements(plant: Path, hours: int) -> pl.DataFrame:
    frame = pl.read_csv(plant / "plant" / "measurements.csv", infer_schema=False)
    return frame.filter(pl.col("ts") >= CUTOFF).sort("ts").head(20 * hours)


def test_watch_takes_a_file_drop_and_quarantines_bad_rows(plant: Path) -> None:
    drop = plant / "drop"
    drop.mkdir()
    rows = _measurements(plant, 2)
    bad = rows.head(1).with_columns(pl.lit("not-a-number").alias("value"))
    (drop / "01.part").write_text("")  # still being written: ignored
    pl.concat([rows, bad]).write_csv(drop / "hour1.csv")
    out = ok(run(plant, "quality", "watch", "--as", "quality", "--drop", str(drop), "--max-files", "1", "--json"))  # fmt: skip
    assert out["counts"]["refused"] == 1 and out["counts"]["subgroups"] == 8
    assert [a["characteristic_id"] for a in out["alerts"]] == ["TH-OPEN"]
    assert (drop / "done" / "hour1.csv").exists()
    quarantine = pl.from_arrow(Lake(plant / "lake").read("quarantine")).filter(pl.col("target_table") == "quality_measurements")  # fmt: skip
    assert quarantine.filter(pl.col("reason").str.contains("finite")).height >= 1


def test_watch_subscribes_to_a_real_broker(
    plant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if MOSQUITTO is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is not installed, and CI must run the broker tests")
        pytest.skip("mosquitto is not installed")
    broker = Broker(MOSQUITTO, tmp_path)
    broker.start()
    monkeypatch.setenv("DRIVETRAIN_MQTT_PORT", str(broker.port))
    try:
        rows = _measurements(plant, 1).with_columns(pl.col("value").cast(pl.Float64))
        messages = [
            (
                f"plants/bursa/{station}/measurements",
                json.dumps(group.drop("station_id").to_dicts()),
            )
            for (station,), group in rows.group_by("station_id", maintain_order=True)
        ]

        def publish() -> None:
            time.sleep(1.5)  # the watch subscribes first
            client = mqtt.Client(CallbackAPIVersion.VERSION2)
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            for topic, payload in messages:
                client.publish(topic, payload, qos=1).wait_for_publish(5)
            client.loop_stop()
            client.disconnect()

        thread = threading.Thread(target=publish)
        thread.start()
        out = ok(run(plant, "quality", "watch", "--as", "quality", "--mqtt", "--max-messages", str(len(messages)), "--duration", "30", "--json"))  # fmt: skip
        thread.join()
    finally:
        broker.stop()
    assert out["counts"]["measurements"] == 20 and out["counts"]["subgroups"] == 4
    assert [a["characteristic_id"] for a in out["alerts"]] == ["TH-OPEN"]


def test_trace_follows_the_lot_into_the_field(plant: Path) -> None:
    out = ok(run(plant, "quality", "trace", "LOT-TH-2402-B", "--as", "warranty", "--json"))
    lot = out["lot"]
    assert lot["claimed"] > 0 and lot["per_thousand"] > 5 * lot["others_per_thousand"]  # it fails
    assert run(plant, "quality", "trace", "LOT-TH-2402-B", "--as", "quality").exit_code == 77
