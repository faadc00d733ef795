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
