"""What an attacker who holds some keys, or only the server, writes into a repository."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import Targets

from drivetrain.ota import TufRepository
from drivetrain.ota.metadata_store import MetadataChain


def forge_targets(
    repo: TufRepository,
    chain: MetadataChain,
    change: Callable[[Targets], None],
    targets_signers: Sequence[Signer],
) -> None:
    """Publish a changed targets signed by ``targets_signers`` only.

    The attacker holds the online snapshot and timestamp keys (signed with the
    repository's real ones) — the case Uptane keeps the targets key offline for.
    """
    md = chain.targets
    change(md.signed)
    md.signed.version += 1
    md.signatures.clear()
    for signer in targets_signers:
        md.sign(signer, append=True)
    path = chain.metadata_dir / f"{md.signed.version}.targets.json"
    path.write_bytes(md.to_bytes())
    repo.publish(chain, targets_changed=False)


def stranger() -> CryptoSigner:
    """A key nobody trusts."""
    return CryptoSigner.generate_ed25519()
