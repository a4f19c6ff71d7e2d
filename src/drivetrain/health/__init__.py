"""Vehicle health: DTC interpretation, fleet-wide anomaly detection, diagnosis and
predictive maintenance, evaluated against the simulator's injected faults.

Every function here is a batch function over Arrow tables, so the same code can
run on the embedded engine and, later, on the distributed one. Reads go through
the access context with purpose ``vehicle_health``; outputs are recorded with
the provenance API.
"""
