"""The exchange layer: sign, send and classify every ``/exchange`` action.

- :class:`ActionSender` / :class:`AsyncActionSender` — the runtime behind the generated
  ``ExchangeActions``: nonce, fill, sign (L1, user-signed, multi-sig), verify, post once,
  classify; indeterminate outcomes raise :class:`~hyperliquid_client.runtime.errors.IndeterminateError`
  and can be re-posted unchanged with ``resend``.
- :class:`Exchange` / :class:`AsyncExchange` — the high-level API (coins, numbers, market
  orders, transfers, agents, multi-sig, ``resolve_indeterminate``).
- :mod:`.orders` — order requests and the pure wire builders.

See ``docs/exchange.md``.
"""

from hyperliquid_client.runtime.exchange._core import SignedAction, Signer, action_cloids, server_digest, sign_action
from hyperliquid_client.runtime.exchange.api import AgentApproval, AsyncExchange, Exchange
from hyperliquid_client.runtime.exchange.orders import CancelRequest, ModifyRequest, OrderRequest, TriggerSpec
from hyperliquid_client.runtime.exchange.sender import DEFAULT_NONCES, ActionSender, AsyncActionSender

__all__ = [
    "DEFAULT_NONCES",
    "ActionSender",
    "AgentApproval",
    "AsyncActionSender",
    "AsyncExchange",
    "CancelRequest",
    "Exchange",
    "ModifyRequest",
    "OrderRequest",
    "SignedAction",
    "Signer",
    "TriggerSpec",
    "action_cloids",
    "server_digest",
    "sign_action",
]
