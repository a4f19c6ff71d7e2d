"""Getting vehicle data in: the collection choke point every source writes through."""

from drivetrain.ingest.sink import (
    CollectionContext,
    WriteReport,
    new_run_id,
    write_records,
    write_telemetry,
)

__all__ = ["CollectionContext", "WriteReport", "new_run_id", "write_records", "write_telemetry"]
