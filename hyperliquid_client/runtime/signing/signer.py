"""The public signing functions (pure, sans-I/O).

Signing goes through a backend (:mod:`.backends`); the digest and recovery functions are
independent of any wallet so a verifier (the fake exchange) can use them directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInputError
from . import eip712, multisig
from .backends import SigningBackend, resolve_backend
from .hashing import action_hash
from .signature import Signature
from .wallet import Wallet

__all__ = [
    "action_hash",
    "l1_digest",
    "multi_sig_digest",
    "multi_sig_inner_l1_digest",
    "multi_sig_inner_user_signed_digest",
    "recover_address",
    "sign_l1_action",
    "sign_multi_sig_action",
    "sign_multi_sig_inner_l1",
    "sign_multi_sig_inner_user_signed",
    "sign_user_signed_action",
    "user_signed_digest",
]

BackendArg = SigningBackend | str | None


def _wallet(wallet: Any) -> Wallet:
    if not isinstance(wallet, Wallet):
        raise InvalidInputError("wallet", "a hyperliquid_client Wallet", type(wallet).__name__)
    return wallet


def _check_user_action(action: Any) -> Mapping[str, Any]:
    if not isinstance(action, Mapping):
        raise InvalidInputError("action", "a mapping", type(action).__name__)
    chain = action.get("hyperliquidChain")
    if chain not in ("Mainnet", "Testnet"):
        raise InvalidInputError("action.hyperliquidChain", '"Mainnet" or "Testnet"', chain)
    return action


# ----------------------------------------------------------------------------- digests


def l1_digest(
    action: Any,
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
) -> bytes:
    """The 32-byte EIP-712 digest an L1 action's signature covers (phantom agent)."""
    return eip712.l1_digest_from_hash(action_hash(action, nonce, vault_address, expires_after), is_mainnet)


def user_signed_digest(action: Mapping[str, Any], *, primary_type: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """The digest of a user-signed action (domain ``HyperliquidSignTransaction``,
    chain id from ``action["signatureChainId"]``, message = the action's ``fields``)."""
    return eip712.user_signed_digest(action, primary_type=primary_type, fields=fields)


def multi_sig_digest(
    multi_sig_action: Mapping[str, Any],
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
) -> bytes:
    """The digest the outer signer of a ``multiSig`` action signs (``SendMultiSig``)."""
    envelope = multisig.multi_sig_envelope(
        multi_sig_action, nonce, vault_address=vault_address, expires_after=expires_after, is_mainnet=is_mainnet
    )
    return eip712.user_signed_digest(
        envelope, primary_type=eip712.SEND_MULTI_SIG_PRIMARY_TYPE, fields=eip712.SEND_MULTI_SIG_FIELDS
    )


def multi_sig_inner_l1_digest(
    inner_action: Mapping[str, Any],
    nonce: int,
    *,
    multi_sig_user: str,
    outer_signer: str,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
) -> bytes:
    """The digest an inner signer of an L1 action signs in a multi-sig."""
    envelope = multisig.multi_sig_inner_l1_envelope(multi_sig_user, outer_signer, inner_action)
    return l1_digest(envelope, nonce, vault_address=vault_address, expires_after=expires_after, is_mainnet=is_mainnet)


def multi_sig_inner_user_signed_digest(
    inner_action: Mapping[str, Any],
    *,
    multi_sig_user: str,
    outer_signer: str,
    primary_type: str,
    fields: Sequence[tuple[str, str]],
) -> bytes:
    """The digest an inner signer of a user-signed action signs in a multi-sig (``fields``
    is the action's normal type list; the two multi-sig address fields are inserted)."""
    message = multisig.multi_sig_inner_user_signed_message(multi_sig_user, outer_signer, inner_action)
    return eip712.user_signed_digest(message, primary_type=primary_type, fields=eip712.multi_sig_inner_fields(fields))


def recover_address(digest: bytes, signature: Signature | Mapping[str, Any], *, backend: BackendArg = None) -> str:
    """The lowercase address that produced ``signature`` over ``digest``.

    ``signature`` may be a :class:`Signature` or a wire mapping (padded or minimal hex).
    Raises :class:`~hyperliquid_client.runtime.errors.SigningError` when no key can be recovered.
    """
    return resolve_backend(backend).recover_address(digest, Signature.from_wire(signature))


# ----------------------------------------------------------------------------- signing


def sign_l1_action(
    wallet: Wallet,
    action: Any,
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
    backend: BackendArg = None,
) -> Signature:
    """Sign an L1 action (orders, cancels, leverage, …) as the official SDK does.

    ``action`` is the ordered wire mapping (key order is hashed); ``nonce`` the body's nonce;
    ``vault_address`` the vault/sub-account acted for (or ``None``); ``expires_after`` an
    absolute ms timestamp or ``None``.  Agent wallets may sign these.
    """
    if type(wallet) is not Wallet:
        wallet = _wallet(wallet)
    signer = backend if isinstance(backend, SigningBackend) else resolve_backend(backend)
    return signer.sign_l1_action(wallet, action, nonce, vault_address, expires_after, bool(is_mainnet))


def sign_user_signed_action(
    wallet: Wallet,
    action: Mapping[str, Any],
    *,
    primary_type: str,
    fields: Sequence[tuple[str, str]],
    backend: BackendArg = None,
) -> Signature:
    """Sign a user-signed action (transfers, withdrawals, approvals, …).

    ``action`` must already hold ``signatureChainId`` and ``hyperliquidChain`` and its
    time/nonce; ``fields`` is the EIP-712 type list in order (see
    :data:`~hyperliquid_client.runtime.signing.eip712.USER_SIGNED_TYPES`).
    """
    action = _check_user_action(action)
    chain_id = eip712.chain_id_from_hex(action.get("signatureChainId"))
    return resolve_backend(backend).sign_typed_data(
        _wallet(wallet), eip712.user_signed_domain(chain_id), primary_type, fields, action
    )


def sign_multi_sig_inner_l1(
    wallet: Wallet,
    inner_action: Mapping[str, Any],
    nonce: int,
    *,
    multi_sig_user: str,
    outer_signer: str,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
    backend: BackendArg = None,
) -> Signature:
    """An authorised user's signature of an L1 inner action of a multi-sig (section 10.1)."""
    envelope = multisig.multi_sig_inner_l1_envelope(multi_sig_user, outer_signer, inner_action)
    return sign_l1_action(
        wallet,
        envelope,
        nonce,
        vault_address=vault_address,
        expires_after=expires_after,
        is_mainnet=is_mainnet,
        backend=backend,
    )


def sign_multi_sig_inner_user_signed(
    wallet: Wallet,
    inner_action: Mapping[str, Any],
    *,
    multi_sig_user: str,
    outer_signer: str,
    primary_type: str,
    fields: Sequence[tuple[str, str]],
    backend: BackendArg = None,
) -> Signature:
    """An authorised user's signature of a user-signed inner action (section 10.2)."""
    message = multisig.multi_sig_inner_user_signed_message(
        multi_sig_user, outer_signer, _check_user_action(inner_action)
    )
    return sign_user_signed_action(
        wallet, message, primary_type=primary_type, fields=eip712.multi_sig_inner_fields(fields), backend=backend
    )


def sign_multi_sig_action(
    wallet: Wallet,
    multi_sig_action: Mapping[str, Any],
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
    backend: BackendArg = None,
) -> Signature:
    """The outer signer's signature of a ``multiSig`` action (built with
    :func:`~hyperliquid_client.runtime.signing.multisig.build_multi_sig_action`)."""
    envelope = multisig.multi_sig_envelope(
        multi_sig_action, nonce, vault_address=vault_address, expires_after=expires_after, is_mainnet=is_mainnet
    )
    return sign_user_signed_action(
        wallet,
        envelope,
        primary_type=eip712.SEND_MULTI_SIG_PRIMARY_TYPE,
        fields=eip712.SEND_MULTI_SIG_FIELDS,
        backend=backend,
    )
