"""Signature recovery and nonce rules of the fake exchange (sans-I/O).

:func:`recover_signer` rebuilds the digest the real server would check for a ``/exchange`` body
(L1 phantom agent or user-signed EIP-712, using the action's registry entry) *for the chain the
fake is configured for*, and recovers the address that signed it.  A signature over anything
else (another action, nonce, vault, chain) recovers some unrelated address, exactly as on the
real exchange.  :func:`recover_multi_sig_outer_signer` / :func:`recover_multi_sig_inner_signer`
do the same for the outer (``SendMultiSig``) and inner signatures of a ``multiSig`` body
(``docs/signing.md``, "Multi-sig").  :class:`NonceBook` applies the exchange's nonce rules per signer
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.errors import HyperliquidError
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.signing import (
    l1_digest,
    multi_sig_digest,
    multi_sig_inner_l1_digest,
    multi_sig_inner_user_signed_digest,
    recover_address,
    user_signed_digest,
)
from hyperliquid_client.runtime.signing.multisig import ABSTRACTION_SHORT_CODES

__all__ = [
    "DAY_MS",
    "NonceBook",
    "Rejected",
    "action_spec",
    "recover_multi_sig_inner_signer",
    "recover_multi_sig_outer_signer",
    "recover_signer",
]

DAY_MS = 86_400_000
UNABLE_TO_RECOVER = "Unable to recover signer."


class Rejected(Exception):
    """The whole action is refused: answered ``{"status": "err", "response": text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def action_spec(action_type: str) -> EndpointSpec | None:
    """The generated registry entry of an ``/exchange`` action type (``None`` if unknown)."""
    return ENDPOINTS.get("exchange." + action_type)


def recover_signer(body: Mapping[str, Any], spec: EndpointSpec, *, chain: str) -> str:
    """The lowercase address whose key signed ``body`` for ``chain`` (``"Mainnet"``/``"Testnet"``).

    Raises :class:`Rejected` (``Unable to recover signer.``) when no key can be recovered, and
    :class:`KeyError` naming a field a user-signed action lacks.
    """
    action = body["action"]
    nonce = body["nonce"]
    if spec.signing == "user_signed":
        message = _user_signed_message(action, spec, chain)
        assert spec.primary_type is not None
        try:
            digest = user_signed_digest(message, primary_type=spec.primary_type, fields=spec.eip712_fields or ())
        except HyperliquidError as exc:
            raise Rejected(UNABLE_TO_RECOVER) from exc
    else:
        try:
            digest = l1_digest(
                action,
                nonce,
                vault_address=body.get("vaultAddress"),
                expires_after=body.get("expiresAfter"),
                is_mainnet=chain == "Mainnet",
            )
        except (HyperliquidError, TypeError, ValueError, OverflowError) as exc:
            raise Rejected(UNABLE_TO_RECOVER) from exc
    return _recover(digest, body["signature"])


def _recover(digest: bytes, signature: Any) -> str:
    try:
        return recover_address(digest, signature)
    except (HyperliquidError, TypeError, ValueError, AttributeError) as exc:
        raise Rejected(UNABLE_TO_RECOVER) from exc


def _user_signed_message(action: Mapping[str, Any], spec: EndpointSpec, chain: str) -> dict[str, Any]:
    """The EIP-712 message of a user-signed action as the server rebuilds it: ``hyperliquidChain``
    forced to ``chain``, a missing ``agentName`` signed as ``""``; :class:`KeyError` names a
    missing field."""
    if not isinstance(action.get("signatureChainId"), str):
        raise KeyError("signatureChainId")
    message = dict(action)
    message["hyperliquidChain"] = chain
    for name, _ in spec.eip712_fields or ():
        if name == "agentName":
            message.setdefault(name, "")
        elif name != "hyperliquidChain" and name not in message:
            raise KeyError(name)
    return message


def recover_multi_sig_outer_signer(body: Mapping[str, Any], *, chain: str) -> str:
    """The lowercase address that signed the ``SendMultiSig`` envelope of a ``multiSig`` body.

    The digest covers the ``multiSig`` action without its ``type`` (signatures and payload
    included), the body's nonce, ``vaultAddress`` and ``expiresAfter``, for ``chain``.  Raises
    :class:`Rejected` (``Unable to recover signer.``) and :class:`KeyError` (``signatureChainId``).
    """
    action = body["action"]
    if not isinstance(action.get("signatureChainId"), str):
        raise KeyError("signatureChainId")
    try:
        digest = multi_sig_digest(
            action,
            body["nonce"],
            vault_address=body.get("vaultAddress"),
            expires_after=body.get("expiresAfter"),
            is_mainnet=chain == "Mainnet",
        )
    except (HyperliquidError, TypeError, ValueError, OverflowError) as exc:
        raise Rejected(UNABLE_TO_RECOVER) from exc
    return _recover(digest, body["signature"])


def recover_multi_sig_inner_signer(
    body: Mapping[str, Any],
    inner_spec: EndpointSpec,
    signature: Any,
    *,
    chain: str,
) -> str:
    """The lowercase address that made one inner ``signature`` of a ``multiSig`` body.

    L1 inner actions: the L1 digest of ``[multiSigUser, outerSigner, action]`` with the outer
    nonce, ``vaultAddress`` and ``expiresAfter``.  User-signed inner actions: the action's EIP-712
    message with ``payloadMultiSigUser`` and ``outerSigner`` inserted after ``hyperliquidChain``
    (``hyperliquidChain`` forced to ``chain``; a ``userSetAbstraction`` short code in the payload
    is signed as its long name).  Raises :class:`Rejected` when no key can be recovered and
    :class:`KeyError` naming a field a user-signed inner action lacks.
    """
    payload = body["action"]["payload"]
    inner = payload["action"]
    user, outer = payload["multiSigUser"], payload["outerSigner"]
    if inner_spec.signing == "user_signed":
        message = _user_signed_message(inner, inner_spec, chain)
        code = message.get("abstraction")
        if message.get("type") == "userSetAbstraction" and isinstance(code, str):
            long_names = {short: long for long, short in ABSTRACTION_SHORT_CODES.items()}
            message["abstraction"] = long_names.get(code, code)
        assert inner_spec.primary_type is not None
        try:
            digest = multi_sig_inner_user_signed_digest(
                message,
                multi_sig_user=user,
                outer_signer=outer,
                primary_type=inner_spec.primary_type,
                fields=inner_spec.eip712_fields or (),
            )
        except (HyperliquidError, TypeError, ValueError, OverflowError) as exc:
            raise Rejected(UNABLE_TO_RECOVER) from exc
    else:
        try:
            digest = multi_sig_inner_l1_digest(
                inner,
                body["nonce"],
                multi_sig_user=user,
                outer_signer=outer,
                vault_address=body.get("vaultAddress"),
                expires_after=body.get("expiresAfter"),
                is_mainnet=chain == "Mainnet",
            )
        except (HyperliquidError, TypeError, ValueError, OverflowError) as exc:
            raise Rejected(UNABLE_TO_RECOVER) from exc
    return _recover(digest, signature)


class NonceBook:
    """Per-signer nonce sets (the rules of ``https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/nonces-and-api-wallets``).

    A nonce must lie in ``(now − 2 days, now + 1 day)``, must not have been used by this signer,
    and, once ``window`` nonces are stored, must exceed the smallest of them (the smallest is
    then evicted).  Fewer than ``window`` stored nonces impose no lower bound besides time.
    """

    def __init__(self, window: int = 100) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self._heaps: dict[str, list[int]] = {}
        self._sets: dict[str, set[int]] = {}

    def check(self, signer: str, nonce: int, now_ms: int) -> None:
        """Raise :class:`Rejected` when ``nonce`` is not acceptable for ``signer`` now."""
        if not now_ms - 2 * DAY_MS < nonce < now_ms + DAY_MS:
            raise Rejected(f"Invalid nonce: nonce {nonce} is outside (now - 2 days, now + 1 day) of {now_ms}")
        used = self._sets.get(signer, set())
        if nonce in used:
            raise Rejected(f"Invalid nonce: duplicate nonce {nonce}")
        heap = self._heaps.get(signer)
        if heap is not None and len(heap) >= self.window and nonce <= heap[0]:
            raise Rejected(f"Invalid nonce: nonce too low {nonce} < {heap[0]}")

    def record(self, signer: str, nonce: int) -> None:
        """Remember an accepted nonce (after :meth:`check`)."""
        heap = self._heaps.setdefault(signer, [])
        used = self._sets.setdefault(signer, set())
        heapq.heappush(heap, nonce)
        used.add(nonce)
        while len(heap) > self.window:
            used.discard(heapq.heappop(heap))

    def used(self, signer: str) -> list[int]:
        """The nonces currently stored for ``signer`` (ascending)."""
        return sorted(self._heaps.get(signer, ()))
