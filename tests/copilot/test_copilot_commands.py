"""drivetrain docs add / list / search and drivetrain ask, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain

PRINCIPALS = """
[[principal]]
id = "erin"
roles = ["product_engineer"]
brands = ["*"]
regions = ["eu"]
country = "DE"

[[principal]]
id = "fay"
roles = ["fleet_analyst"]
brands = ["*"]
regions = ["eu"]
country = "DE"
"""
REPORT = """# Cold-climate test report CT-77

## Battery pre-conditioning

At -25 °C the pack pre-conditioning raised the cell temperature from -22 °C to
+5 °C in 38 minutes, using 3.1 kWh from the grid. Fast-charge power reached
110 kW after pre-conditioning, against 35 kW without it.
"""
GUIDE = """# Wiper service guide

## Replacing the wiper blades

Lift the arm, press the release tab and slide the blade off the hook. Fit the new
blade until it clicks.
"""


def run(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def test_index_search_and_ask_as_two_principals(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "principals.toml").write_text(PRINCIPALS)
    docs = tmp_path / "docs"
    (docs / "reports").mkdir(parents=True)
    (docs / "reports/ct-77.md").write_text(REPORT)
    (docs / "wipers.md").write_text(GUIDE)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a PDF")

    code, out, err = run(data, "docs", "add", str(docs / "wipers.md"), str(docs / "broken.pdf"),
                         "--json")  # fmt: skip
    assert code == 0, err
    files = {Path(f["source"]).name: f for f in json.loads(out)["files"]}
    assert files["wipers.md"]["status"] == "added" and files["broken.pdf"]["status"] == "failed"
    assert files["broken.pdf"]["reason"]  # the failed file says why; the batch went on
    code, out, err = run(data, "docs", "add", str(docs / "reports"), "--label", "engineering")
    assert code == 0, err
    code, out, _ = run(data, "docs", "list", "--json")
    labels = {Path(r["source"]).name: r["labels"] for r in json.loads(out)}
    assert labels == {"wipers.md": ["public"], "ct-77.md": ["engineering"]}

    question = "How long did battery pre-conditioning take at -25 °C?"
    code, out, err = run(data, "docs", "search", question, "--as", "fay", "--json")
    assert code == 0, err
    assert all("ct-77" not in p["source"] for p in json.loads(out))  # not granted: not seen
    code, out, err = run(data, "ask", question, "--as", "erin", "--json")
    assert code == 0, err
    reply = json.loads(out)
    assert reply["found"] and "38 minutes" in reply["answer"]
    assert reply["citations"][0]["source"].endswith("ct-77.md")
    explained = explain(AuditLog(data), reply["output_id"])
    assert explained.principal == "erin" and explained.purpose == "engineering_support"
    code, out, err = run(data, "ask", question, "--as", "fay", "--json")
    assert code == 0, err
    assert not json.loads(out)["found"]  # the only answer is in a report fay may not read
    code, out, _ = run(data, "ask", question, "--as", "erin")
    assert "38 minutes" in out and "ct-77.md" in out


def test_asking_before_indexing_says_what_to_do(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "ask", "anything?", "--as", "erin")
    assert code == 66 and "drivetrain docs add" in err


QUESTIONS = """
[[question]]
id = "preconditioning-time"
family = "tests"
question = "How long does the pack take to warm up at -25 °C?"
[[question.expected]]
files = ["reports/ct-77.md"]
phrase = "in 38 minutes"

[[question]]
id = "wiper-release"
family = "tests"
question = "How do I take off a wiper blade?"
[[question.expected]]
files = ["wipers.md"]
phrase = "press the release tab"

[[question]]
id = "none-sourdough"
family = "tests"
question = "How long should sourdough bread rise?"
answerable = false
"""


def test_copilot_evaluate_prints_retrieval_and_answer_metrics(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "reports").mkdir(parents=True)
    (corpus / "reports/ct-77.md").write_text(REPORT)
    (corpus / "wipers.md").write_text(GUIDE)
    questions = tmp_path / "questions.toml"
    questions.write_text(QUESTIONS)
    data = tmp_path / "data"
    args = ("copilot", "evaluate", "--questions", str(questions), "--corpus", str(corpus))
    code, out, err = run(data, *args, "--json")
    assert code == 0, err
    result = json.loads(out)
    modes = {r["mode"]: r for r in result["retrieval"]}
    assert set(modes) == {"bm25", "dense", "hybrid"}
    assert modes["hybrid"]["questions"] == 2 and modes["hybrid"]["recall@5"] == 1.0
    answers = result["answers"][0]
    assert answers["answered"] == 1.0 and answers["refused"] == 1.0
    assert answers["grounded"] == 1.0 and answers["faithful_sentences"] == 1.0
    (corpus / "wipers.md").write_text(GUIDE.replace("press the release tab", "pull"))
    code, _, err = run(data, *args)
    assert code == 66 and "not in" in err  # the set and the corpus no longer belong together


DATA = Path(__file__).parent / "data"


def test_docs_compare_tables_and_document_versions(tmp_path: Path) -> None:
    brake = DATA / "compare"
    code, out, err = run(tmp_path, "docs", "compare", str(brake / "brake-2026-10.csv"),
                         str(brake / "brake-2026-11.csv"), "--key", "speed_kmh", "--key",
                         "surface", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["counts"]["new_violations"] == 1 and result["counts"]["fixed"] == 1
    assert any("now exceeds the limit 38" in s for s in result["summary"])
    manual = DATA / "diff"
    code, out, err = run(tmp_path, "docs", "compare", str(manual / "manual-v1.md"),
                         str(manual / "manual-v2.md"))  # fmt: skip
    assert code == 0, err
    assert "Renamed" in out and "manual-v1.md §" in out and "manual-v2.md §" in out
    code, _, err = run(tmp_path, "docs", "compare", str(brake / "brake-2026-10.csv"),
                       str(brake / "emc-2026-q3.csv"))  # fmt: skip
    assert code != 0 and "error:" in err  # no common key: said, not guessed
