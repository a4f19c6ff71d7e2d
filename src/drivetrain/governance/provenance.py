"""Provenance of AI outputs and data runs, recorded in the audit log.

Every AI output (diagnosis, anomaly, forecast, answer, recommendation, rollout
decision) gets an id from :func:`record_output`, which writes an ``ai_output``
audit entry: the model and its version, the parameters, the lake table versions
read, the cited sources, who asked and why. :func:`explain` reads it back with
an inclusion proof checked against the latest signed tree head, so the record
shown is provably the one written. :func:`record_run` does the same for
ingestion runs and lake queries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from drivetrain.errors import InputError, IntegrityError, NotFound
from drivetrain.governance.audit import (
    AuditEntry,
    AuditLog,
    InclusionProof,
    SignedTreeHead,
)

OUTPUT_KIND = "ai_output"
RUN_KINDS = ("ingest", "query")
_OUTPUT_ID = re.compile(r"out-[0-9a-f]{32}")


@dataclass(frozen=True)
class Explanation:
    """How an output was produced, and the proof that its record was not altered."""

    output_id: str
    output_kind: str
    model: str
    version: str
    params: dict[str, Any]
    inputs: dict[str, int]
    sources: list[str]
    principal: str
    purpose: str
    time: datetime
    entry: AuditEntry
    proof: InclusionProof
    tree_head: SignedTreeHead

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_id": self.output_id,
            "kind": self.output_kind,
            "model": self.model,
            "version": self.version,
            "params": self.params,
            "inputs": self.inputs,
            "sources": self.sources,
            "principal": self.principal,
            "purpose": self.purpose,
            "time": self.time.isoformat(),
            "audit_seq": self.entry.seq,
            "inclusion_proof": self.proof.to_dict(),
            "tree_head": self.tree_head.to_dict(),
            "verified": True,
        }


def record_output(
    audit: AuditLog,
    *,
    kind: str,
    model: str,
    version: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, int],
    sources: Sequence[str],
    principal: str,
    purpose: str,
) -> str:
    """Record an AI output's provenance; returns its id (``out-<32 hex>``).

    ``inputs`` maps each lake table read to the version read; ``sources`` are the
    documents or records cited.
    """
    for name, value in (("kind", kind), ("model", model), ("version", version)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"an AI output needs a {name}, got {value!r}")
    if not isinstance(params, Mapping):
        raise InputError("params must be a mapping of parameter names to JSON values")
    checked_inputs: dict[str, int] = {}
    for table, table_version in dict(inputs).items():
        if (
            not isinstance(table, str)
            or not table
            or not isinstance(table_version, int)
            or isinstance(table_version, bool)
            or table_version < 0
        ):
            raise InputError(
                f"inputs map table names to table versions (int >= 0), "
                f"got {table!r}: {table_version!r}",
                hint="e.g. inputs={'telemetry': 3}; Lake.versions() lists a table's versions",
            )
        checked_inputs[table] = table_version
    if isinstance(sources, str) or not all(isinstance(s, str) and s for s in sources):
        raise InputError(f"sources must be a list of non-empty strings, got {sources!r}")
    output_id = f"out-{uuid.uuid4().hex}"
    audit.append(
        OUTPUT_KIND,
        principal=principal,
        purpose=purpose,
        details={
            "output_id": output_id,
            "output_kind": kind,
            "model": model,
            "model_version": version,
            "params": dict(params),
            "inputs": checked_inputs,
            "sources": list(sources),
        },
    )
    return output_id


def find_output(audit: AuditLog, output_id: str) -> AuditEntry:
    """The audit entry recording ``output_id``."""
    if not _OUTPUT_ID.fullmatch(output_id):
        raise InputError(
            f"{output_id!r} is not an output id", hint="output ids look like out-<32 hex digits>"
        )
    for entry in reversed(audit.entries(kind=OUTPUT_KIND)):
        if entry.details.get("output_id") == output_id:
            return entry
    raise NotFound(
        f"no AI output {output_id} in the audit log at {audit.log_path}",
        hint="check the id and the --data-dir it was produced in",
    )


def explain(
    audit: AuditLog, output_id: str, *, public_key: Ed25519PublicKey | None = None
) -> Explanation:
    """The provenance of ``output_id``, with its inclusion proof verified against the latest
    signed tree head (raises :class:`IntegrityError` if either does not check out)."""
    entry = find_output(audit, output_id)
    tree_head = audit.latest_sth()
    if tree_head is None or tree_head.tree_size <= entry.seq:
        raise IntegrityError(
            f"output {output_id} (audit entry #{entry.seq}) is not covered by a signed tree head",
            hint="run 'drivetrain audit verify'",
        )
    if not tree_head.verify_signature(public_key or audit.public_key()):
        raise IntegrityError(
            f"the latest tree head #{tree_head.tree_size} has an invalid signature",
            hint="run 'drivetrain audit verify' to locate the damage",
        )
    proof = audit.inclusion_proof(entry.seq, tree_head.tree_size)
    if not proof.verify(tree_head.root_hash):
        raise IntegrityError(
            f"the record of output {output_id} (audit entry #{entry.seq}, line {entry.line}) "
            f"does not match tree head #{tree_head.tree_size}: it was altered",
            hint="run 'drivetrain audit verify' to locate the damage",
        )
    d = entry.details
    return Explanation(
        output_id=output_id,
        output_kind=str(d.get("output_kind", "")),
        model=str(d.get("model", "")),
        version=str(d.get("model_version", "")),
        params=dict(d.get("params", {})),
        inputs={str(k): int(v) for k, v in dict(d.get("inputs", {})).items()},
        sources=[str(s) for s in d.get("sources", [])],
        principal=entry.principal,
        purpose=entry.purpose,
        time=entry.time,
        entry=entry,
        proof=proof,
        tree_head=tree_head,
    )


def record_run(
    audit: AuditLog,
    run_id: str,
    kind: str,
    details: Mapping[str, Any],
    principal: str,
    purpose: str,
) -> AuditEntry:
    """Record an ingestion run (``kind='ingest'``) or a lake query (``kind='query'``).

    ``details`` says what was read or written, e.g. ``{"tables": {"telemetry": 4},
    "rows": 12000}`` or ``{"sql": …, "versions": {…}}``.
    """
    if kind not in RUN_KINDS:
        raise InputError(f"a run is one of {', '.join(RUN_KINDS)}, got {kind!r}")
    if not isinstance(run_id, str) or not run_id.strip():
        raise InputError(f"a run needs an id, got {run_id!r}")
    merged = dict(details)
    if merged.setdefault("run_id", run_id) != run_id:
        raise InputError(f"details name run {merged['run_id']!r}, not {run_id!r}")
    return audit.append(kind, principal=principal, purpose=purpose, details=merged)
