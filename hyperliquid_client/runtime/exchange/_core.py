"""Sans-I/O core of the exchange layer: fill, sign, verify and frame one action; read the answer.

Nothing here does I/O.  :func:`sign_action` turns a built action (from the generated
``ExchangeActions``) into a :class:`SignedAction` — the exact body to POST — and, with
verification on, checks it (:mod:`hyperliquid_client.runtime.signing.check`) before anything
leaves the process.  :func:`failure_to_error` and
:func:`read_answer` decide what a transport failure or an answer means for a signed request
(plain failure, rejection, or :class:`~hyperliquid_client.runtime.errors.IndeterminateError`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import attrs

from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import (
    ApiRejectedError,
    HTTPStatusError,
    IndeterminateError,
    InvalidInputError,
    InvalidResponseError,
    RateLimitedError,
    TransportError,
)
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult, classify
from hyperliquid_client.runtime.signing import Wallet, normalize_address
from hyperliquid_client.runtime.signing.check import Signer, VerifyMode, action_digest, server_digest, verify_body
from hyperliquid_client.runtime.signing.eip712 import chain_id_from_hex

__all__ = [
    "BATCH_WEIGHT_DIVISOR",
    "fill_action",
    "SIGNING_KINDS",
    "SignedAction",
    "Signer",
    "VerifyMode",
    "action_cloids",
    "action_weight",
    "failure_to_error",
    "read_answer",
    "server_digest",
    "sign_action",
]

#: The signing kinds an exchange endpoint may declare.
SIGNING_KINDS = ("l1", "user_signed", "multi_sig")
#: A batch of ``n`` elements weighs ``weight + n // BATCH_WEIGHT_DIVISOR``.
BATCH_WEIGHT_DIVISOR = 40
_MAX_U64 = (1 << 64) - 1


@attrs.frozen
class SignedAction:
    """A signed, ready-to-post action: ``body`` is exactly what goes to ``/exchange``."""

    endpoint: EndpointSpec
    body: dict[str, Any]
    nonce: int
    signer: str
    vault_address: str | None
    weight: int

    @property
    def cloids(self) -> tuple[str, ...]:
        """The client order ids the action carries (read when an outcome must name them, not per send)."""
        return action_cloids(self.body["action"])

    @property
    def action_type(self) -> str:
        """The action's wire type (``order``, ``usdSend``, ...)."""
        return self.endpoint.wire


_new = object.__new__
# (one setter per field, in the class's order: a field added to SignedAction fails here, at import)
_set_endpoint, _set_body, _set_nonce, _set_signer, _set_vault, _set_weight = (
    SignedAction.__dict__[field.name].__set__ for field in attrs.fields(SignedAction)
)


def _signed(
    endpoint: EndpointSpec, body: dict[str, Any], nonce: int, signer: str, vault: str | None, weight: int
) -> SignedAction:
    """``SignedAction(...)`` through its slots: what attrs' frozen ``__init__`` does, without a ``setattr`` call per
    field (every signed action; tests/test_exchange_sender.py compares the two)."""
    signed = _new(SignedAction)
    _set_endpoint(signed, endpoint)
    _set_body(signed, body)
    _set_nonce(signed, nonce)
    _set_signer(signed, signer)
    _set_vault(signed, vault)
    _set_weight(signed, weight)
    return signed


# ---------------------------------------------------------------------------------------------- helpers
def action_weight(endpoint: EndpointSpec, action: Mapping[str, Any]) -> int:
    """Rate-limit weight: the endpoint's weight plus ``floor(len(batch) / 40)``."""
    batch = endpoint.batch_param
    if not batch:
        return endpoint.weight
    key = (endpoint.wire, batch)
    wire = _BATCH_WIRE.get(key)
    if wire is None:
        wire = _BATCH_WIRE[key] = next((p.wire for p in endpoint.params if p.name == batch), batch)
    items = action.get(wire)
    if items.__class__ is list or isinstance(items, (list, tuple)):
        return endpoint.weight + len(items) // BATCH_WEIGHT_DIVISOR
    return endpoint.weight


_BATCH_WIRE: dict[tuple[str, str], str] = {}  # exchange action -> the wire key of its batch (read from the spec once)


#: Keys holding client order ids (orders ``c``, cancels ``cloid``, modifies ``oid`` when a string).
_CLOID_KEYS = ("c", "cloid", "oid")


def action_cloids(action: Any, found: dict[str, None] | None = None) -> tuple[str, ...]:
    """Client order ids an action carries, in order (orders, modifies, cancels by cloid; inside multi-sig too)."""
    found = {} if found is None else found
    items = action.items() if isinstance(action, Mapping) else enumerate(action) if isinstance(action, list) else ()
    for key, item in items:
        if key in _CLOID_KEYS and isinstance(item, str):
            found.setdefault(item, None)
        elif isinstance(item, Mapping | list):
            action_cloids(item, found)
    return tuple(found)


def add_cloids(action: dict[str, Any]) -> dict[str, Any]:
    """``action`` with a fresh random client order id on each new order that has none (``order``: its orders,
    ``batchModify``: each replacing order) — the ``auto_cloid`` option, so that any order can be looked up by
    cloid after an :class:`IndeterminateError`.  The ``c`` key goes last, where the official SDK puts it."""
    wire = action.get("type")
    if wire == "order":
        orders = action.get("orders") or ()
    elif wire == "batchModify":
        orders = [m.get("order") for m in action.get("modifies") or () if isinstance(m, Mapping)]
    else:
        return action
    for order in orders:
        if isinstance(order, dict) and order.get("c") is None:
            order["c"] = "0x" + secrets.token_hex(16)
    return action


def _u64(name: str, value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_U64:
        raise InvalidInputError(name, what, value)
    return value


def fill_action(endpoint: EndpointSpec, action: Mapping[str, Any], nonce: int, signer: Signer) -> dict[str, Any]:
    """The action with its nonce key set to ``nonce`` and, when user-signed, ``signatureChainId`` and
    ``hyperliquidChain`` filled.

    A key present with ``None`` keeps its position (the spec's order); a missing one is appended.
    """
    out = dict(action)
    if endpoint.nonce_key:
        present = out.get(endpoint.nonce_key)
        if present is not None and present != nonce:
            raise InvalidInputError(
                f"action.{endpoint.nonce_key}", f"None (filled with the request nonce {nonce})", present
            )
        out[endpoint.nonce_key] = nonce
    if endpoint.signing != "user_signed":
        return out
    if out.get("signatureChainId") is None:
        out["signatureChainId"] = signer.signature_chain_id
    else:
        chain_id_from_hex(out["signatureChainId"])
    chain = signer.network.chain_name
    if out.get("hyperliquidChain") is None:
        out["hyperliquidChain"] = chain
    elif out["hyperliquidChain"] != chain:
        raise InvalidInputError(
            "action.hyperliquidChain",
            f"{chain!r}: the network {signer.network.name!r} signs for {chain} (wrong network?)",
            out["hyperliquidChain"],
        )
    return out


# ---------------------------------------------------------------------------------------------- signing
def sign_action(
    signer: Signer,
    endpoint: EndpointSpec,
    action: Mapping[str, Any],
    *,
    wallet: Wallet,
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    built: bool = False,
    weight: int | None = None,
) -> SignedAction:
    """Fill, sign and frame ``action`` for ``endpoint``; verify the signature when ``signer.verify``.

    ``built``: a generated builder made ``action`` from validated values (see :func:`verify_body`).
    ``weight``: its rate-limit weight when the caller has it already (:func:`action_weight` otherwise).

    ``vault_address`` is used (hashed and posted) only when ``endpoint.vault``.  ``expires_after`` is
    refused for user-signed actions.  Raises :class:`InvalidInputError` or :class:`SignatureMismatchError`
    before anything is sent.
    """
    if endpoint.context != "exchange" or endpoint.signing not in SIGNING_KINDS:
        raise InvalidInputError(
            "endpoint", "an exchange action with signing l1, user_signed or multi_sig", endpoint.wire
        )
    if (action.__class__ is not dict and not isinstance(action, Mapping)) or action.get("type") not in (
        endpoint.wire,
        None,
    ):
        raise InvalidInputError("action", f"a mapping with type {endpoint.wire!r}", action)
    if not isinstance(wallet, Wallet):
        raise InvalidInputError("wallet", "a hyperliquid_client Wallet", type(wallet).__name__)
    if nonce.__class__ is not int or not 0 <= nonce <= _MAX_U64:  # (_u64 in place: every action)
        raise InvalidInputError("nonce", "an integer between 0 and 2**64-1", nonce)
    if expires_after is not None and endpoint.signing == "user_signed":
        raise InvalidInputError(
            "expires_after", f"None: user-signed actions ({endpoint.wire}) do not support expiresAfter", expires_after
        )
    if expires_after is not None:
        expires_after = _u64(
            "expires_after", expires_after, "a time in milliseconds since the epoch (non-negative int)"
        )
    # The vault is validated and hashed as bytes (case-insensitive); the body carries the caller's
    # text, as the official SDK posts it.
    vault = normalize_address(vault_address, "vault_address") if vault_address is not None else None
    vault_text = vault_address if vault is not None else None
    if not endpoint.vault:
        vault = vault_text = None
    is_mainnet = signer.network.is_mainnet
    account = signer.account_address
    if endpoint.signing == "user_signed" and account is not None and account.lower() != wallet.address:
        raise InvalidInputError(
            "wallet",
            f"the account's own wallet ({account.lower()}): {endpoint.wire} is a user-signed action, which "
            "must be signed by the account itself; an agent / API wallet signs only L1 actions such as "
            "orders and cancels",
            detail=f"the wallet is {wallet.address}; pass wallet=<the account's wallet> for this call",
        )
    signing = endpoint.signing
    if signing == "multi_sig" or (signing == "l1" and not endpoint.nonce_key):
        filled = dict(action)  # (what fill_action gives them)
    else:
        filled = fill_action(endpoint, action, nonce, signer)
    if signing == "l1":  # the backend's fused hashing: the hot path of every order
        sig = signer.backend.sign_l1_action(wallet, filled, nonce, vault, expires_after, is_mainnet)
    else:
        digest = action_digest(endpoint, filled, nonce, vault, expires_after, is_mainnet=is_mainnet)
        sig = signer.backend.sign_digest(wallet, digest)
    body = {
        "action": filled,
        "nonce": nonce,
        "signature": {"r": sig.r, "s": sig.s, "v": sig.v},  # (Signature.to_wire)
        "vaultAddress": vault_text,
        "expiresAfter": expires_after,
    }
    address = wallet.address
    signed = _signed(
        endpoint, body, nonce, address, vault, action_weight(endpoint, filled) if weight is None else weight
    )
    if signer.verify:
        verify_body(signer, endpoint, body, address, vault, built)
    return signed


# ---------------------------------------------------------------------------------------------- answers
_DOES_NOT_EXIST = "User or API Wallet"  # the answer to a signature the exchange cannot tie to an account
_NONCE_MARKERS = ("duplicate nonce", "nonce already used", "already used", "invalid nonce")


def _indeterminate(signed: SignedAction, why: str, *, resend: bool = False) -> IndeterminateError:
    cloids = ", ".join(signed.cloids) if signed.cloids else "none"
    advice = (
        "look the outcome up (orders: resolve_indeterminate / orderStatus by cloid) before acting again; "
        "resend() re-posts the same signed body, which can never execute twice"
    )
    word = "resent " if resend else ""
    return IndeterminateError(
        f"{signed.action_type} ({word}nonce {signed.nonce}, cloids {cloids}) may or may not have been executed: "
        f"{why}; {advice}",
        nonce=signed.nonce,
        cloids=signed.cloids,
        action_type=signed.action_type,
    )


def failure_to_error(signed: SignedAction, exc: BaseException, *, resend: bool = False) -> BaseException:
    """What a transport failure of a signed request means.

    Definite failures are returned unchanged: nothing was sent (``request_sent`` false), rate
    limited (429), or a 4xx refusal.  Anything that may have reached the server — a timeout or a
    connection lost after sending, a 5xx, an unreadable 200 — becomes an
    :class:`IndeterminateError` carrying the nonce and cloids (the cause is chained by the caller).
    """
    if isinstance(exc, RateLimitedError):
        return exc
    if isinstance(exc, HTTPStatusError):
        if exc.status >= 500:
            return _indeterminate(signed, f"the server answered HTTP {exc.status}", resend=resend)
        return exc
    if isinstance(exc, TransportError):
        if exc.request_sent:
            return _indeterminate(signed, f"{type(exc).__name__} after the request was sent ({exc})", resend=resend)
        return exc
    if isinstance(exc, InvalidResponseError):
        return _indeterminate(signed, f"the answer could not be read ({exc})", resend=resend)
    return exc


def _hint_unknown_signer(err: ApiRejectedError, signed: SignedAction, signer: Signer) -> ApiRejectedError:
    if _DOES_NOT_EXIST not in err.server_message:
        return err
    account = signer.account_address
    agent = account is not None and account.lower() != signed.signer
    hints = [
        f"the signer {signed.signer} is unknown to the exchange on {signer.network.chain_name}",
        "is this the right network (mainnet/testnet) for this account?",
    ]
    if agent:
        hints.append(
            f"the agent {signed.signer} must be approved by the master account {account} (approve_agent) and "
            "must not have expired or been replaced"
        )
    else:
        hints.append("a new account must deposit first; an API wallet must be approved by its master (approve_agent)")
    if signed.vault_address is not None:
        hints.append(
            f"acting for vault/sub-account {signed.vault_address}: the signer must be its leader/master or their agent"
        )
    out = ApiRejectedError(err.server_message, endpoint=err.endpoint, response=err.response)
    out.message += " (hint: " + "; ".join(hints) + ")"
    return out


def read_answer(
    signed: SignedAction, raw: Any, signer: Signer, *, resend: bool = False, drift: DriftMonitor | None = None
) -> ExchangeResult:
    """Classify the decoded answer to ``signed`` (drift from the spec reported to ``drift``).

    ``{"status": "err"}`` raises :class:`ApiRejectedError` (with a hint for the misleading
    "does not exist" answer); for a resend, a nonce rejection means the first attempt probably
    consumed the nonce and raises :class:`IndeterminateError` instead; an answer that cannot be
    fully understood (see :func:`~hyperliquid_client.runtime.results.classify`) raises
    :class:`IndeterminateError`.
    """
    try:
        return classify(raw, signed.endpoint, nonce=signed.nonce, sent=signed.body["action"], drift=drift)
    except ApiRejectedError as exc:
        text = exc.server_message.lower()
        if resend and any(marker in text for marker in _NONCE_MARKERS):
            err = _indeterminate(
                signed,
                f"the resend was refused with {exc.server_message!r}: the first attempt probably executed",
                resend=True,
            )
            raise err from exc
        hinted = _hint_unknown_signer(exc, signed, signer)
        if hinted is exc:
            raise
        raise hinted from exc
    except InvalidResponseError as exc:
        raise _indeterminate(signed, f"the answer could not be read ({exc})", resend=resend) from exc
