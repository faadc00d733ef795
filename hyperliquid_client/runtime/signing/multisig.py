"""Multi-sig actions: inner signatures, the envelope, the outer hash (``docs/signing.md``, "Multi-sig")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInputError
from . import eip712
from .hashing import action_hash
from .signature import Signature
from .wallet import normalize_address

__all__ = [
    "ABSTRACTION_SHORT_CODES",
    "build_multi_sig_action",
    "multi_sig_action_hash",
    "multi_sig_envelope",
    "multi_sig_inner_l1_envelope",
    "multi_sig_inner_user_signed_message",
]

#: userSetAbstraction: long name (signed by inner signers) → short code (in the payload).
ABSTRACTION_SHORT_CODES: Mapping[str, str] = {"disabled": "i", "unifiedAccount": "u", "portfolioMargin": "p"}


def multi_sig_inner_l1_envelope(multi_sig_user: str, outer_signer: str, inner_action: Mapping[str, Any]) -> list[Any]:
    """``[multiSigUser, outerSigner, action]`` (lowercase addresses): what inner signers of an
    L1 action sign as an ordinary L1 action."""
    return [
        normalize_address(multi_sig_user, "multi_sig_user"),
        normalize_address(outer_signer, "outer_signer"),
        inner_action,
    ]


def multi_sig_inner_user_signed_message(
    multi_sig_user: str, outer_signer: str, inner_action: Mapping[str, Any]
) -> dict[str, Any]:
    """The inner user-signed action plus ``payloadMultiSigUser`` and ``outerSigner``."""
    if not isinstance(inner_action, Mapping):
        raise InvalidInputError("inner_action", "a mapping", type(inner_action).__name__)
    message = dict(inner_action)
    message["payloadMultiSigUser"] = normalize_address(multi_sig_user, "multi_sig_user")
    message["outerSigner"] = normalize_address(outer_signer, "outer_signer")
    return message


def _payload_action(inner_action: Mapping[str, Any]) -> dict[str, Any]:
    action = dict(inner_action)
    if action.get("type") == "userSetAbstraction" and action.get("abstraction") in ABSTRACTION_SHORT_CODES:
        action["abstraction"] = ABSTRACTION_SHORT_CODES[action["abstraction"]]
    return action


def build_multi_sig_action(
    *,
    multi_sig_user: str,
    outer_signer: str,
    inner_action: Mapping[str, Any],
    signatures: Sequence[Signature | Mapping[str, Any]],
    signature_chain_id: str = "0x66eee",
) -> dict[str, Any]:
    """The ``multiSig`` action: ``type, signatureChainId, signatures, payload``.

    ``inner_action`` is the action as the inner signers signed it; a ``userSetAbstraction``
    gets its short abstraction code in the payload (SDK 0.24.0 behaviour).
    """
    if not isinstance(inner_action, Mapping):
        raise InvalidInputError("inner_action", "a mapping", type(inner_action).__name__)
    eip712.chain_id_from_hex(signature_chain_id, "signature_chain_id")
    return {
        "type": "multiSig",
        "signatureChainId": signature_chain_id,
        "signatures": [Signature.from_wire(s).to_wire() for s in signatures],
        "payload": {
            "multiSigUser": normalize_address(multi_sig_user, "multi_sig_user"),
            "outerSigner": normalize_address(outer_signer, "outer_signer"),
            "action": _payload_action(inner_action),
        },
    }


def multi_sig_action_hash(
    multi_sig_action: Mapping[str, Any], nonce: int, vault_address: str | None, expires_after: int | None
) -> bytes:
    """The L1 action hash of the multi-sig action **without its ``type`` key**."""
    if not isinstance(multi_sig_action, Mapping) or multi_sig_action.get("type") != "multiSig":
        raise InvalidInputError("action", 'a mapping with "type": "multiSig"', multi_sig_action)
    without_type = {k: v for k, v in multi_sig_action.items() if k != "type"}
    return action_hash(without_type, nonce, vault_address, expires_after)


def multi_sig_envelope(
    multi_sig_action: Mapping[str, Any],
    nonce: int,
    *,
    vault_address: str | None,
    expires_after: int | None,
    is_mainnet: bool,
) -> dict[str, Any]:
    """The ``SendMultiSig`` message the outer signer signs (chain id from the action)."""
    return {
        "signatureChainId": multi_sig_action.get("signatureChainId"),
        "hyperliquidChain": "Mainnet" if is_mainnet else "Testnet",
        "multiSigActionHash": multi_sig_action_hash(multi_sig_action, nonce, vault_address, expires_after),
        "nonce": nonce,
    }
