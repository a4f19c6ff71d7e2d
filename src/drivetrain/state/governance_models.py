"""Control-plane tables of governance: data subjects, who drives/owns what, consent history.

``consent_events`` is append-only: the current consent state of a subject is
derived from its history, so a row is never updated; rows disappear only when
the subject is erased (``ON DELETE CASCADE`` from ``data_subjects``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from drivetrain.errors import IntegrityError
from drivetrain.state.models import Base, UTCDateTime

SUBJECT_KINDS: tuple[str, ...] = ("owner", "driver", "household")
SUBJECT_ROLES: tuple[str, ...] = ("owner", "driver")
LEGAL_BASES: tuple[str, ...] = ("consent", "contract", "legitimate_interest", "legal_obligation")
CONSENT_ACTIONS: tuple[str, ...] = ("given", "withdrawn")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class DataSubjectRow(Base):
    """A person (or household) whose data vehicles may produce."""

    __tablename__ = "data_subjects"
    __table_args__ = (CheckConstraint(_one_of("kind", SUBJECT_KINDS), name="kind"),)

    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VehicleSubjectRow(Base):
    """A subject's relation to a vehicle over ``[valid_from, valid_to)`` (open-ended if null)."""

    __tablename__ = "vehicle_subjects"
    __table_args__ = (
        CheckConstraint(_one_of("role", SUBJECT_ROLES), name="role"),
        Index("ix_vehicle_subjects_vehicle_id_valid_from", "vehicle_id", "valid_from"),
        Index("ix_vehicle_subjects_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("vehicles.vehicle_id", ondelete="CASCADE")
    )
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsentEventRow(Base):
    """One consent (or objection) given or withdrawn; never updated, only appended."""

    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(_one_of("legal_basis", LEGAL_BASES), name="legal_basis"),
        CheckConstraint(_one_of("action", CONSENT_ACTIONS), name="action"),
        Index("ix_consent_events_subject_id_purpose", "subject_id", "purpose"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(32))
    data_category: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(24))
    region: Mapped[str] = mapped_column(String(16))
    notice_version: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


@event.listens_for(ConsentEventRow, "before_update")
def _refuse_update(
    _mapper: Mapper[ConsentEventRow], _conn: Connection, row: ConsentEventRow
) -> None:
    raise IntegrityError(
        f"consent event {row.event_id} cannot be changed: the consent history is append-only",
        hint="record a new given/withdrawn event instead",
    )


class DataKeyRow(Base):
    """A data-encryption key sealing personal signals of one set of subjects.

    ``wrapped`` is the key encrypted under the data directory's key-encryption
    key (never the key itself); ``members`` is a digest of the sorted subject
    ids, so one set of subjects has one key. Deleting the row destroys the key:
    what it sealed can no longer be read (crypto-shredding).
    """

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    members: Mapped[str] = mapped_column(String(64), unique=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DataKeyMemberRow(Base):
    """``subject_id`` is one of the subjects whose data ``key_id`` seals."""

    __tablename__ = "data_key_members"
    __table_args__ = (Index("ix_data_key_members_subject_id", "subject_id"),)

    key_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("data_keys.key_id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE"), primary_key=True
    )
