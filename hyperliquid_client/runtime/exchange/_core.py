"""Sans-I/O core of the exchange layer: fill, sign, verify and frame one action; read the answer.

Nothing here does I/O.  :func:`sign_action` turns a built action (from the generated
``ExchangeActions``) into a :class:`SignedAction` — the exact body to POST — and, with
verification on, recovers the signer from the body *as the server will see it* (after a JSON
round trip) before anything leaves the process.  :func:`failure_to_error` and
:func:`read_answer` decide what a transport failure or an answer means for a signed request
(plain failure, rejection, or :class:`~hyperliquid_client.runtime.errors.IndeterminateError`).
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from hyperliquid_client.runtime.config import MAINNET, TESTNET, Network
from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import (
    ApiRejectedError,
    HTTPStatusError,
    HyperliquidError,
    IndeterminateError,
    InvalidInputError,
    InvalidResponseError,
    RateLimitedError,
    SignatureMismatchError,
    TransportError,
)
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult, classify
from hyperliquid_client.runtime.signing import (
    SigningBackend,
    Wallet,
    l1_digest,
    multi_sig_digest,
    normalize_address,
    recover_address,
    user_signed_digest,
)
from hyperliquid_client.runtime.signing.eip712 import chain_id_from_hex

__all__ = [
    "BATCH_WEIGHT_DIVISOR",
    "fill_action",
    "SIGNING_KINDS",
    "SignedAction",
    "Signer",
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


#: How fresh signatures are checked before sending: ``"once"`` (recover the signer of the first action of each
#: kind per wallet, then check that each body survives JSON unchanged), ``True`` (recover every one), ``False``.
VerifyMode = bool | Literal["once"]


@attrs.frozen
class Signer:
    """How one sender signs: network, backend, checks, chain id, and the account it acts for.

    ``verified``: the (wallet, action, vault?, expiresAfter?) kinds whose signature was recovered (``"once"``).
    """

    network: Network
    backend: SigningBackend
    verify: VerifyMode = "once"
    signature_chain_id: str = "0x66eee"
    account_address: str | None = None
    verified: set[tuple[str, str, bool, bool]] = attrs.field(factory=set, eq=False, repr=False)


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


# ---------------------------------------------------------------------------------------------- helpers
def action_weight(endpoint: EndpointSpec, action: Mapping[str, Any]) -> int:
    """Rate-limit weight: the endpoint's weight plus ``floor(len(batch) / 40)``."""
    if not endpoint.batch_param:
        return endpoint.weight
    wire = _BATCH_WIRE.get((endpoint.wire, endpoint.batch_param))
    if wire is None:
        wire = next((p.wire for p in endpoint.params if p.name == endpoint.batch_param), endpoint.batch_param)
        _BATCH_WIRE[(endpoint.wire, endpoint.batch_param)] = wire
    items = action.get(wire)
    return endpoint.weight + (len(items) // BATCH_WEIGHT_DIVISOR if isinstance(items, list | tuple) else 0)


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


def _signed_message(endpoint: EndpointSpec, action: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a user-signed action's signature covers (approveAgent without a name: ``agentName ""``)."""
    if endpoint.wire == "approveAgent" and "agentName" not in action:
        message = dict(action)
        message["agentName"] = ""
        return message
    return action


def _digest(
    endpoint: EndpointSpec, action: Any, nonce: int, vault: str | None, expires: int | None, *, is_mainnet: bool
) -> bytes:
    if endpoint.signing == "l1":
        return l1_digest(action, nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet)
    if endpoint.signing == "multi_sig":
        return multi_sig_digest(action, nonce, vault_address=vault, expires_after=expires, is_mainnet=is_mainnet)
    assert endpoint.primary_type is not None  # the spec's validator requires it of a user-signed action
    return user_signed_digest(
        _signed_message(endpoint, action), primary_type=endpoint.primary_type, fields=endpoint.eip712_fields
    )


def server_digest(endpoint: EndpointSpec, body: Mapping[str, Any], *, is_mainnet: bool) -> bytes:
    """The digest the exchange recomputes from a posted ``body`` of ``endpoint`` to recover the signer."""
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    return _digest(endpoint, body["action"], body["nonce"], vault, expires, is_mainnet=is_mainnet)


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
) -> SignedAction:
    """Fill, sign and frame ``action`` for ``endpoint``; verify the signature when ``signer.verify``.

    ``vault_address`` is used (hashed and posted) only when ``endpoint.vault``.  ``expires_after`` is
    refused for user-signed actions.  Raises :class:`InvalidInputError` or :class:`SignatureMismatchError`
    before anything is sent.
    """
    if endpoint.context != "exchange" or endpoint.signing not in SIGNING_KINDS:
        raise InvalidInputError(
            "endpoint", "an exchange action with signing l1, user_signed or multi_sig", endpoint.wire
        )
    if not isinstance(action, Mapping) or action.get("type") not in (endpoint.wire, None):
        raise InvalidInputError("action", f"a mapping with type {endpoint.wire!r}", action)
    if not isinstance(wallet, Wallet):
        raise InvalidInputError("wallet", "a hyperliquid_client Wallet", type(wallet).__name__)
    nonce = _u64("nonce", nonce, "an integer between 0 and 2**64-1")
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
    filled = dict(action) if endpoint.signing == "multi_sig" else fill_action(endpoint, action, nonce, signer)
    if endpoint.signing == "l1":  # the backend's fused hashing: the hot path of every order
        sig = signer.backend.sign_l1_action(wallet, filled, nonce, vault, expires_after, is_mainnet)
    else:
        digest = _digest(endpoint, filled, nonce, vault, expires_after, is_mainnet=is_mainnet)
        sig = signer.backend.sign_digest(wallet, digest)
    body = {
        "action": filled,
        "nonce": nonce,
        "signature": sig.to_wire(),
        "vaultAddress": vault_text,
        "expiresAfter": expires_after,
    }
    signed = SignedAction(endpoint, body, nonce, wallet.address, vault, action_weight(endpoint, filled))
    if signer.verify:
        verify_signed(signer, signed)
    return signed


def _known_chain_mismatch(network: Network) -> str | None:
    if network.http_url == MAINNET.http_url and not network.is_mainnet:
        return f"the network points at mainnet ({network.http_url}) but signs for Testnet"
    if network.http_url == TESTNET.http_url and network.is_mainnet:
        return f"the network points at testnet ({network.http_url}) but signs for Mainnet"
    return None


_JSON_LEAVES = frozenset((str, int, bool, type(None)))


def _not_json(value: Any) -> str | None:
    """Where ``value`` holds something JSON would not carry unchanged (what the exchange hashes is what it
    decodes), or ``None``: maps with string keys, lists and tuples, strings, integers, booleans, ``None``, finite
    floats."""
    cls = value.__class__
    if cls is dict:
        for key, item in value.items():
            if key.__class__ is not str:
                return f"[{key!r}] (a map key that is not a string)"
            if item.__class__ not in _JSON_LEAVES:
                problem = _not_json(item)
                if problem is not None:
                    return f".{key}{problem}"
        return None
    if cls is list or cls is tuple:
        for i, item in enumerate(value):
            if item.__class__ not in _JSON_LEAVES:
                problem = _not_json(item)
                if problem is not None:
                    return f"[{i}]{problem}"
        return None
    if cls in _JSON_LEAVES or (cls is float and math.isfinite(value)):
        return None
    return f": {type(value).__name__} {value!r}"


def verify_signed(signer: Signer, signed: SignedAction) -> None:
    """Check ``signed`` before it is sent; refuse on any mismatch.

    ``True``: recover the signer from ``signed.body`` as the server will decode it (a JSON round trip), every time.
    ``"once"`` (the default): do that for the first action of each kind (action type, with or without vault and
    expiry) per wallet; after that the signing code that produced it is known good for the kind, and each body is
    checked to survive JSON unchanged — the part that depends on the action (about a twentieth of a signature
    instead of three signatures' worth).

    Raises :class:`SignatureMismatchError` naming the likely causes (the exchange itself would
    answer with the misleading ``User or API Wallet ... does not exist``).
    """
    endpoint = signed.endpoint
    network = signer.network
    chain = network.chain_name
    mismatch = _known_chain_mismatch(network)
    if mismatch is not None:
        raise SignatureMismatchError(
            f"refusing to send {endpoint.wire}: {mismatch}; the signature would be checked against the "
            "other chain and recover a different address (fix the network configuration)"
        )
    kind = (signed.signer, endpoint.wire, signed.vault_address is not None, signed.body.get("expiresAfter") is not None)
    if signer.verify == "once" and kind in signer.verified and _not_json(signed.body["action"]) is None:
        return  # (a body JSON would change goes through the full check, which says what is wrong)
    try:
        wire = json.loads(json.dumps(signed.body, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            "action", "only JSON values (str, int, bool, None, lists, string-keyed maps)", detail=str(exc)
        ) from exc
    try:
        digest = server_digest(endpoint, wire, is_mainnet=network.is_mainnet)
        recovered = recover_address(digest, wire["signature"], backend=signer.backend)
    except HyperliquidError as exc:
        raise SignatureMismatchError(
            f"refusing to send {endpoint.wire}: the signature could not be checked against the body as the "
            f"server will read it ({exc})"
        ) from exc
    if recovered == signed.signer:
        if signer.verify == "once":
            signer.verified.add(kind)
        return
    causes = [
        "the action changed after signing or holds values that do not survive JSON unchanged "
        "(floats, non-string map keys, tuples vs lists are fine but sets/Decimals are not)",
        f"wrong network or chain: signed for {chain} (is_mainnet={network.is_mainnet}) while sending to "
        f"{network.exchange_url}",
        "a key/backend mismatch: the signing backend produced a signature for another key or digest",
    ]
    if signed.vault_address is not None:
        causes.append(f"the vault address {signed.vault_address} in the body is not the one that was hashed")
    if endpoint.signing == "user_signed":
        causes.append("hyperliquidChain or signatureChainId in the action differ from what was signed")
    raise SignatureMismatchError(
        f"refusing to send {endpoint.wire}: the signature recovers to {recovered}, not to the signer "
        f"{signed.signer}; the exchange would answer 'User or API Wallet {recovered} does not exist'. "
        "Likely causes: " + "; ".join(causes)
    )


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
