"""What the demo shows of the knowledge copilot: index documents, answer two questions.

It indexes the project's own documentation (``docs/`` of the checkout the demo
runs from) and, when a copy sits beside the checkout, the public specification
corpus (``../shared/data/docs``: Uptane, TUF, COVESA VSS). Nothing is
downloaded; without either folder the section says so and is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import drivetrain
from drivetrain.copilot import DocumentIndex, IngestReport
from drivetrain.copilot.access import PURPOSE, index_labels, readable_labels
from drivetrain.copilot.answers import Answer, answer
from drivetrain.copilot.providers import provider_from_settings
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.settings import Settings

PRINCIPAL = "engineer"
QUESTIONS = (
    "How is the state of health of a traction battery estimated?",
    "What must a Primary ECU check before it installs an image from the Director?",
)


@dataclass(frozen=True, slots=True)
class CopilotTour:
    """What was indexed and the answers given."""

    folders: list[Path]
    report: IngestReport | None
    answers: list[Answer]


def demo_corpora() -> list[Path]:
    """The document folders the demo indexes: the project's docs, and the shared corpus."""
    checkout = Path(drivetrain.__file__).resolve().parents[2]
    candidates = [checkout / "docs", checkout.parent / "shared" / "data" / "docs"]
    return [c for c in candidates if c.is_dir()]


def copilot_tour(settings: Settings, folders: list[Path] | None = None) -> CopilotTour:
    """Index ``folders`` (the demo corpora by default) into the data directory, and
    answer :data:`QUESTIONS` as the demo's engineer."""
    folders = demo_corpora() if folders is None else folders
    if not folders:
        return CopilotTour([], None, [])
    index = DocumentIndex.open(settings.copilot_dir)
    report = index.add(folders)
    principal = principal_named(settings.resolved_principals_file, PRINCIPAL)
    labels = readable_labels(principal, index_labels(index))
    audit = AuditLog(settings.data_dir)
    provider = provider_from_settings(settings)
    answers = [
        answer(
            index,
            q,
            labels=labels,
            provider=provider,
            audit=audit,
            principal=PRINCIPAL,
            purpose=PURPOSE,
        )
        for q in QUESTIONS
    ]
    return CopilotTour(folders, report, answers)
