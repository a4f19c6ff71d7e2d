"""Tables of the control-plane store, as SQLAlchemy 2 declarative models.

There is one :class:`Base` and so one ``MetaData`` for the whole store. A later
feature (consents, campaigns, OTA…) adds its tables here (or in a module that
this one imports) together with a new migration in ``migrations/versions/``;
the test suite compares the migrated schema with ``Base.metadata`` so the two
cannot drift apart.

Constraint names come from :data:`NAMING_CONVENTION`, so migrations can refer
to them by a stable name on every dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import JSON, TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

POWERTRAINS: tuple[str, ...] = ("ice", "hev", "phev", "bev")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every dialect.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC and read back with ``tzinfo=UTC``. Naive datetimes are
    refused: the store never guesses a time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use a UTC-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in the control-plane store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class VehicleRow(Base):
    """A registered vehicle, keyed by its pseudonymous ``vehicle_id`` (the lake's key)."""

    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint(
            "powertrain IN (" + ", ".join(f"'{p}'" for p in POWERTRAINS) + ")",
            name="powertrain",
        ),
        Index("ix_vehicles_brand_market", "brand", "market"),
        Index("ix_vehicles_model_id", "model_id"),
    )

    vehicle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    brand: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(128))
    model_year: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(64))
    market: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(16))
    powertrain: Mapped[str] = mapped_column(String(8))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    software: Mapped[list[EcuSoftwareRow]] = relationship(
        back_populates="vehicle",
        passive_deletes=True,
        order_by="(EcuSoftwareRow.ecu, EcuSoftwareRow.installed_at)",
    )


class EcuSoftwareRow(Base):
    """A software version installed on one ECU of a vehicle."""

    __tablename__ = "ecu_software"
    __table_args__ = (UniqueConstraint("vehicle_id", "ecu", "software_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("vehicles.vehicle_id", ondelete="CASCADE")
    )
    ecu: Mapped[str] = mapped_column(String(32))
    hardware_part: Mapped[str] = mapped_column(String(64))
    software_version: Mapped[str] = mapped_column(String(64))
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    vehicle: Mapped[VehicleRow] = relationship(back_populates="software")


CAMPAIGN_STATUSES: tuple[str, ...] = ("active", "stopped")


class CampaignRow(Base):
    """A data-collection campaign: which vehicles, which signals, how often, why."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CAMPAIGN_STATUSES) + ")", name="status"
        ),
        Index("ix_campaigns_status", "status"),
    )

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    signals: Mapped[list[str]] = mapped_column(JSON)
    target_brands: Mapped[list[str]] = mapped_column(JSON)
    target_models: Mapped[list[str]] = mapped_column(JSON)
    target_markets: Mapped[list[str]] = mapped_column(JSON)
    period_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    condition: Mapped[str | None] = mapped_column(Text, nullable=True)
    pre_trigger_s: Mapped[float] = mapped_column(Float, default=0.0)
    post_trigger_s: Mapped[float] = mapped_column(Float, default=0.0)
    retention_days: Mapped[int] = mapped_column(Integer)
    location_precision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


from drivetrain.state import (
    cockpit_models,  # noqa: F401
    governance_models,  # noqa: F401
    identity_models,  # noqa: F401
    ota_models,  # noqa: F401
)
