"""The exchange layer: sign, send and classify every ``/exchange`` action.

- :class:`ActionSender` / :class:`AsyncActionSender` — nonce, fill, sign (L1, user-signed, multi-sig),
  verify, post once, classify; indeterminate outcomes raise
  :class:`~hyperliquid_client.runtime.errors.IndeterminateError` and can be re-posted unchanged with ``resend``.
- :class:`Exchange` / :class:`AsyncExchange` — the high-level API: the methods generated from
  ``spec/exchange`` (coins, exact numbers, request classes) plus market orders, multi-sig and
  indeterminate outcomes.
- Both pairs are thin sync/async shells generated from one template into
  :mod:`hyperliquid_client.generated.exchange` around the sans-I/O cores here (``_core``, ``sender``, ``api``);
  they are loaded on first use (the generated module imports the cores).
- The request classes (``OrderRequest``, ``TriggerSpec``, ...) and enums (``Tif``, ``Tpsl``) are generated into
  :mod:`hyperliquid_client.generated.requests` and re-exported here.

See ``docs/exchange.md``.
"""

from typing import TYPE_CHECKING, Any

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
from hyperliquid_client.runtime.exchange.api import AgentApproval, OrderOptions
from hyperliquid_client.runtime.exchange.sender import DEFAULT_NONCES

if TYPE_CHECKING:
    from hyperliquid_client.generated.exchange import ActionSender, AsyncActionSender, AsyncExchange, Exchange

_SHELLS = ("ActionSender", "AsyncActionSender", "AsyncExchange", "Exchange")


def __getattr__(name: str) -> Any:
    if name in _SHELLS:
        from hyperliquid_client.generated import exchange

        return getattr(exchange, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
