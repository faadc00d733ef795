"""Signature recovery and nonce rules of the fake exchange (sans-I/O).

:func:`recover_signer` rebuilds the digest the real server would check for a ``/exchange`` body
(L1 phantom agent or user-signed EIP-712, using the action's registry entry) *for the chain the
fake is configured for*, and recovers the address that signed it.  A signature over anything
else (another action, nonce, vault, chain) recovers some unrelated address, exactly as on the
real exchange.  :class:`NonceBook` applies API.md §5.3 per signer.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from hyperliquid.generated.registry import ENDPOINTS
from hyperliquid.runtime.errors import HyperliquidError
from hyperliquid.runtime.registry import EndpointSpec
from hyperliquid.runtime.signing import l1_digest, recover_address, user_signed_digest

__all__ = [
    "DAY_MS",
    "NonceBook",
    "Rejected",
    "action_spec",
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
        if not isinstance(action.get("signatureChainId"), str):
            raise KeyError("signatureChainId")
        message = dict(action)
        message["hyperliquidChain"] = chain
        for name, _ in spec.eip712_fields or ():
            if name == "agentName":
                message.setdefault(name, "")
            elif name != "hyperliquidChain" and name not in message:
                raise KeyError(name)
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
    try:
        return recover_address(digest, body["signature"])
    except HyperliquidError as exc:
        raise Rejected(UNABLE_TO_RECOVER) from exc


class NonceBook:
    """Per-signer nonce sets (API.md §5.3).

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
