"""The exchange layer: sign, send and classify every ``/exchange`` action.

- :class:`ActionSender` / :class:`AsyncActionSender` — nonce, fill, sign (L1, user-signed, multi-sig),
  verify, post once, classify; indeterminate outcomes raise
  :class:`~hyperliquid_client.runtime.errors.IndeterminateError` and can be re-posted unchanged with ``resend``.
- :class:`Exchange` / :class:`AsyncExchange` — the high-level API: the methods generated from
  ``spec/exchange`` (coins, exact numbers, request classes) plus market orders, multi-sig and
  indeterminate outcomes.
- The request classes (``OrderRequest``, ``TriggerSpec``, ...) and enums (``Tif``, ``Tpsl``) are generated into
  :mod:`hyperliquid_client.generated.requests` and re-exported here.

See ``docs/exchange.md``.
"""

from hyperliquid_client.generated.requests import (
    BuilderFee,
    CancelByCloidRequest,
    CancelRequest,
    ModifyRequest,
    OrderRequest,
    Tif,
    Tpsl,
    TriggerSpec,
)
from hyperliquid_client.runtime.exchange._core import SignedAction, Signer, action_cloids, server_digest, sign_action
from hyperliquid_client.runtime.exchange.api import AgentApproval, AsyncExchange, Exchange, OrderOptions
from hyperliquid_client.runtime.exchange.sender import DEFAULT_NONCES, ActionSender, AsyncActionSender

__all__ = [
    "DEFAULT_NONCES",
    "ActionSender",
    "AgentApproval",
    "AsyncActionSender",
    "AsyncExchange",
    "BuilderFee",
    "CancelByCloidRequest",
    "CancelRequest",
    "Exchange",
    "ModifyRequest",
    "OrderOptions",
    "OrderRequest",
    "SignedAction",
    "Signer",
    "Tif",
    "Tpsl",
    "TriggerSpec",
    "action_cloids",
    "server_digest",
    "sign_action",
]
