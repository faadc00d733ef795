"""Request signing, byte-exact with the official Hyperliquid Python SDK.

Quick use::

    from hyperliquid_client.runtime.signing import Wallet, NonceManager, sign_l1_action

    wallet = Wallet.from_key(os.environ["HL_KEY"])
    nonces = NonceManager()
    nonce = nonces.next(wallet.address)
    sig = sign_l1_action(wallet, action, nonce, vault_address=None, expires_after=None, is_mainnet=True)
    body = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None, "expiresAfter": None}

Backends: ``select_backend("auto" | "native" | "eth-account")`` or the environment variable
``HYPERLIQUID_SIGNING_BACKEND``; the native one needs ``pip install 'hyperliquid-client[native]'``.
See ``docs/signing.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends import (
        BACKEND_ENV_VAR,
        EthAccountBackend,
        NativeBackend,
        SigningBackend,
        default_backend,
        resolve_backend,
        select_backend,
    )
    from .eip712 import USER_SIGNED_TYPES, user_signed_type
    from .hashing import action_msgpack
    from .multisig import build_multi_sig_action
    from .nonces import (
        DEFAULT_HOLD,
        FLIGHT_MARGIN,
        NONCE_WINDOW,
        Flights,
        LocalNonceSource,
        NonceManager,
        NonceSource,
        SharedNonceSource,
        SharedWindowDown,
    )
    from .signature import Signature
    from .signer import (
        action_hash,
        l1_digest,
        multi_sig_digest,
        multi_sig_inner_l1_digest,
        multi_sig_inner_user_signed_digest,
        recover_address,
        sign_l1_action,
        sign_multi_sig_action,
        sign_multi_sig_inner_l1,
        sign_multi_sig_inner_user_signed,
        sign_user_signed_action,
        user_signed_digest,
    )
    from .wallet import KeyRedactionFilter, Wallet, checksum_address, normalize_address
    from .wire import (
        float_to_int,
        float_to_int_for_hashing,
        float_to_usd_int,
        float_to_wire,
        normalize_cloid,
        order_request_to_wire,
        order_type_to_wire,
    )

# Imported on first use: a client that never signs never loads the backends, msgpack and keccak.
_LAZY_MODULES = {
    "backends": (
        "BACKEND_ENV_VAR",
        "EthAccountBackend",
        "NativeBackend",
        "SigningBackend",
        "default_backend",
        "resolve_backend",
        "select_backend",
    ),
    "eip712": (
        "USER_SIGNED_TYPES",
        "user_signed_type",
    ),
    "hashing": ("action_msgpack",),
    "multisig": ("build_multi_sig_action",),
    "nonces": (
        "DEFAULT_HOLD",
        "FLIGHT_MARGIN",
        "NONCE_WINDOW",
        "Flights",
        "LocalNonceSource",
        "NonceManager",
        "NonceSource",
        "SharedNonceSource",
        "SharedWindowDown",
    ),
    "signature": ("Signature",),
    "signer": (
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
    ),
    "wallet": (
        "KeyRedactionFilter",
        "Wallet",
        "checksum_address",
        "normalize_address",
    ),
    "wire": (
        "float_to_int",
        "float_to_int_for_hashing",
        "float_to_usd_int",
        "float_to_wire",
        "normalize_cloid",
        "order_request_to_wire",
        "order_type_to_wire",
    ),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}

__all__ = [
    "BACKEND_ENV_VAR",
    "USER_SIGNED_TYPES",
    "EthAccountBackend",
    "KeyRedactionFilter",
    "NativeBackend",
    "DEFAULT_HOLD",
    "FLIGHT_MARGIN",
    "NONCE_WINDOW",
    "Flights",
    "LocalNonceSource",
    "NonceManager",
    "NonceSource",
    "SharedNonceSource",
    "SharedWindowDown",
    "Signature",
    "SigningBackend",
    "Wallet",
    "action_hash",
    "action_msgpack",
    "build_multi_sig_action",
    "checksum_address",
    "default_backend",
    "float_to_int",
    "float_to_int_for_hashing",
    "float_to_usd_int",
    "float_to_wire",
    "l1_digest",
    "multi_sig_digest",
    "multi_sig_inner_l1_digest",
    "multi_sig_inner_user_signed_digest",
    "normalize_address",
    "normalize_cloid",
    "order_request_to_wire",
    "order_type_to_wire",
    "recover_address",
    "resolve_backend",
    "select_backend",
    "sign_l1_action",
    "sign_multi_sig_action",
    "sign_multi_sig_inner_l1",
    "sign_multi_sig_inner_user_signed",
    "sign_user_signed_action",
    "user_signed_digest",
    "user_signed_type",
]


def __getattr__(name: str) -> Any:
    """Import each name from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
