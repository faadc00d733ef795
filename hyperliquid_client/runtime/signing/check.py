"""Checking a signed exchange body before it is sent: the digest the server recomputes, and the signer it recovers.

:func:`verify_body` recovers the signer from the body *as the server will decode it* (after a JSON round trip)
before anything leaves the process (``verify_signatures``: every time, or once per kind of action and wallet,
then :func:`not_json`, the part that depends on the action); :func:`server_digest` is the digest the exchange
recomputes from a posted body (the fake exchange checks signatures with it too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from hyperliquid_client.runtime.config import MAINNET, TESTNET, Network
from hyperliquid_client.runtime.errors import HyperliquidError, InvalidInputError, SignatureMismatchError
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.signing.backends import SigningBackend
from hyperliquid_client.runtime.signing.signer import l1_digest, multi_sig_digest, recover_address, user_signed_digest

__all__ = ["Signer", "VerifyMode", "action_digest", "not_json", "server_digest", "verify_body"]


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
    #: why ``network`` cannot sign for the API it points at (``None``: it can), decided once
    chain_mismatch: str | None = attrs.field(
        default=attrs.Factory(lambda self: _known_chain_mismatch(self.network), takes_self=True),
        init=False,
        eq=False,
        repr=False,
    )


def _signed_message(endpoint: EndpointSpec, action: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a user-signed action's signature covers (approveAgent without a name: ``agentName ""``)."""
    if endpoint.wire == "approveAgent" and "agentName" not in action:
        message = dict(action)
        message["agentName"] = ""
        return message
    return action


def action_digest(
    endpoint: EndpointSpec, action: Any, nonce: int, vault: str | None, expires: int | None, *, is_mainnet: bool
) -> bytes:
    """The digest a signature of ``action`` (with ``nonce``, ``vault``, ``expires``) covers for ``endpoint``."""
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
    return action_digest(endpoint, body["action"], body["nonce"], vault, expires, is_mainnet=is_mainnet)


def _known_chain_mismatch(network: Network) -> str | None:
    if network.http_url == MAINNET.http_url and not network.is_mainnet:
        return f"the network points at mainnet ({network.http_url}) but signs for Testnet"
    if network.http_url == TESTNET.http_url and network.is_mainnet:
        return f"the network points at testnet ({network.http_url}) but signs for Mainnet"
    return None


_JSON_LEAVES = frozenset((str, int, bool, type(None)))


def not_json(value: Any) -> str | None:
    """Where ``value`` holds something JSON would not carry unchanged (what the exchange hashes is what it
    decodes), or ``None``: maps with string keys, lists and tuples, strings, integers, booleans, ``None``, finite
    floats."""
    cls = value.__class__
    if cls is dict:
        for key, item in value.items():
            if key.__class__ is not str:
                return f"[{key!r}] (a map key that is not a string)"
            if item.__class__ not in _JSON_LEAVES:
                problem = not_json(item)
                if problem is not None:
                    return f".{key}{problem}"
        return None
    if cls is list or cls is tuple:
        for i, item in enumerate(value):
            if item.__class__ not in _JSON_LEAVES:
                problem = not_json(item)
                if problem is not None:
                    return f"[{i}]{problem}"
        return None
    if cls in _JSON_LEAVES or (cls is float and math.isfinite(value)):
        return None
    return f": {type(value).__name__} {value!r}"


def _json_change(value: Any) -> str | None:
    """Where JSON would change ``value`` (what the exchange hashes is what it decodes), or ``None``: :func:`not_json`
    without its strictness — any mapping is walked as a map and a ``str`` / ``int`` subclass is its plain value —
    to name the place when an action is refused for it."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"[{key!r}] (a map key that is not a string)"
            problem = _json_change(item)
            if problem is not None:
                return f".{key}{problem}"
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = _json_change(item)
            if problem is not None:
                return f"[{i}]{problem}"
        return None
    if value is None or isinstance(value, str | int) or (isinstance(value, float) and math.isfinite(value)):
        return None
    return f": {type(value).__name__} {value!r}"


def verify_body(
    signer: Signer,
    endpoint: EndpointSpec,
    body: Mapping[str, Any],
    address: str,
    vault: str | None,
    built: bool = False,
) -> None:
    """Check a signed ``body`` of ``endpoint`` (signed by ``address``, for ``vault``) before it is sent; refuse on
    any mismatch.

    ``True``: recover the signer from ``body`` as the server will decode it (a JSON round trip), every time.
    ``"once"`` (the default): do that for the first action of each kind (action type, with or without vault and
    expiry) per wallet; after that the signing code that produced it is known good for the kind, and each body is
    checked to survive JSON unchanged — the part that depends on the action (about a twentieth of a signature
    instead of three signatures' worth).  ``built``: a high-level method's builder made the action and it holds no
    caller's mapping as given (``validate.HANDED_OVER``): every value was made by its validator (text, integers,
    booleans, ``None``, or a caller's ``str``/``int`` subclass, which JSON and the hash read as the plain value;
    lists and string-keyed maps of them), JSON by construction, so that walk is skipped.

    Raises :class:`InvalidInputError` naming the place when the action holds what JSON would change (a map key
    that is not a string, bytes), else :class:`SignatureMismatchError` naming the likely causes (the exchange
    itself would answer with the misleading ``User or API Wallet ... does not exist``).
    """
    network = signer.network
    mismatch = signer.chain_mismatch
    if mismatch is not None:
        raise SignatureMismatchError(
            f"refusing to send {endpoint.wire}: {mismatch}; the signature would be checked against the "
            "other chain and recover a different address (fix the network configuration)"
        )
    kind = (address, endpoint.wire, vault is not None, body.get("expiresAfter") is not None)
    if signer.verify == "once" and kind in signer.verified and (built or not_json(body["action"]) is None):
        return  # (a body JSON would change goes through the full check, which says what is wrong)
    try:
        wire = json.loads(json.dumps(body, allow_nan=False))
    except (TypeError, ValueError) as exc:
        problem = _json_change(body["action"])
        raise InvalidInputError(
            "action",
            "only JSON values (str, int, bool, None, lists, string-keyed maps)",
            detail=f"action{problem}" if problem is not None else str(exc),
        ) from exc
    try:
        digest = server_digest(endpoint, wire, is_mainnet=network.is_mainnet)
        recovered = recover_address(digest, wire["signature"], backend=signer.backend)
    except HyperliquidError as exc:
        raise SignatureMismatchError(
            f"refusing to send {endpoint.wire}: the signature could not be checked against the body as the "
            f"server will read it ({exc})"
        ) from exc
    if recovered == address:
        if signer.verify == "once":
            signer.verified.add(kind)
        return
    problem = _json_change(body["action"])
    if problem is not None:  # the likeliest cause, named: JSON changes the action, the exchange hashes another one
        raise InvalidInputError(
            "action",
            "only values JSON carries unchanged (str, int, bool, None, lists, string-keyed maps)",
            detail=f"action{problem}; the exchange hashes the action as JSON decodes it, so the signature would "
            f"recover {recovered}, not {address}",
        )
    causes = [
        "the action changed after signing",
        f"wrong network or chain: signed for {network.chain_name} (is_mainnet={network.is_mainnet}) while sending to "
        f"{network.exchange_url}",
        "a key/backend mismatch: the signing backend produced a signature for another key or digest",
    ]
    if vault is not None:
        causes.append(f"the vault address {vault} in the body is not the one that was hashed")
    if endpoint.signing == "user_signed":
        causes.append("hyperliquidChain or signatureChainId in the action differ from what was signed")
    raise SignatureMismatchError(
        f"refusing to send {endpoint.wire}: the signature recovers to {recovered}, not to the signer "
        f"{address}; the exchange would answer 'User or API Wallet {recovered} does not exist'. "
        "Likely causes: " + "; ".join(causes)
    )
