"""Signing backends: a baseline on eth-account and a native fast path on libsecp256k1.

Both produce byte-identical signatures (RFC 6979 deterministic nonces, low-s), so either
can sign anything; they differ only in speed:

* :class:`EthAccountBackend` — the baseline that always works: builds the full EIP-712
  typed-data document and signs it with ``eth_account`` exactly as the official SDK does.
* :class:`NativeBackend` — ``coincurve`` (libsecp256k1) plus direct Keccak hashing of the
  fixed Hyperliquid types (:mod:`.eip712`); never imports eth-account.

:func:`select_backend` picks one: ``"auto"`` (native when ``coincurve`` imports, else the
baseline with one warning per process), ``"native"`` (an error when it cannot load) or
``"eth-account"``.  Without an argument the ``HYPERLIQUID_SIGNING_BACKEND`` environment
variable decides (default ``auto``).
"""

from __future__ import annotations

import abc
import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigError, InvalidInputError, NativeBackendUnavailableError, SigningError, shown
from . import _native, eip712
from ._keccak import KECCAK_NEW, keccak256
from .hashing import action_hash, action_msgpack, hash_framing
from .signature import SECP256K1_N, Signature
from .wallet import Wallet, address_from_public_key

if TYPE_CHECKING:
    from ..events import EventBus

__all__ = [
    "BACKEND_ENV_VAR",
    "BACKEND_NAMES",
    "backend_name",
    "EthAccountBackend",
    "NativeBackend",
    "SigningBackend",
    "default_backend",
    "resolve_backend",
    "select_backend",
]

_log = logging.getLogger("hyperliquid_client.signing")

#: Environment variable naming the backend (``auto`` | ``native`` | ``eth-account``).
BACKEND_ENV_VAR = "HYPERLIQUID_SIGNING_BACKEND"
BACKEND_NAMES = ("auto", "native", "eth-account")
_ALIASES = {
    "auto": "auto",
    "native": "native",
    "coincurve": "native",
    "eth-account": "eth-account",
    "eth_account": "eth-account",
}


def backend_name(value: object) -> str | None:
    """The backend ``value`` names (``"auto"``, ``"native"``, ``"eth-account"``; any case, aliases
    ``coincurve`` and ``eth_account``), or ``None`` when it names none."""
    return _ALIASES.get(value.strip().lower()) if isinstance(value, str) else None


def _check_digest(digest: Any) -> bytes:
    if not isinstance(digest, bytes | bytearray) or len(digest) != 32:
        raise InvalidInputError(
            "digest", "32 bytes", digest if isinstance(digest, bytes | bytearray) else type(digest).__name__
        )
    return bytes(digest)


class SigningBackend(abc.ABC):
    """What a signing backend does.  All methods are pure (no I/O) and thread-safe."""

    #: ``"native"`` or ``"eth-account"``.
    name: ClassVar[str]

    @abc.abstractmethod
    def sign_l1_action(
        self,
        wallet: Wallet,
        action: Any,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> Signature:
        """Sign an L1 action (msgpack → action hash → phantom agent → EIP-712)."""

    @abc.abstractmethod
    def sign_typed_data(
        self,
        wallet: Wallet,
        domain: Mapping[str, Any],
        primary_type: str,
        fields: Sequence[tuple[str, str]],
        message: Mapping[str, Any],
    ) -> Signature:
        """Sign an EIP-712 struct of atomic fields under ``domain``."""

    @abc.abstractmethod
    def sign_digest(self, wallet: Wallet, digest: bytes) -> Signature:
        """Sign a ready 32-byte digest (no prefix)."""

    @abc.abstractmethod
    def recover_address(self, digest: bytes, signature: Signature) -> str:
        """The lowercase address whose key produced ``signature`` over ``digest``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _signing_failed(backend: str, failure: str) -> SigningError:
    # Built outside the ``except`` block so neither the cause nor its traceback (whose frames
    # may hold key material inside third-party code) is attached.
    return SigningError(f"{backend} backend failed to sign: {failure} (cause not chained to keep key material out)")


_trusted = Signature._trusted


def _from_compact(raw: bytes) -> Signature:
    """Signature from libsecp256k1's 65-byte ``r ‖ s ‖ recid`` (r/s as minimal hex)."""
    r = raw[:32].hex().lstrip("0")
    s = raw[32:64].hex().lstrip("0")
    return _trusted("0x" + (r or "0"), "0x" + (s or "0"), 27 + raw[64])


_keccak256 = keccak256
_TWO_64 = 1 << 64
_EXCHANGE_DIGEST_PREFIX = b"\x19\x01" + eip712.EXCHANGE_DOMAIN_SEPARATOR
_AGENT_PREFIX = {True: eip712.AGENT_TYPE_HASH + keccak256(b"a"), False: eip712.AGENT_TYPE_HASH + keccak256(b"b")}


def _direct_signer(module: Any) -> Callable[[Any, bytes], Signature] | None:
    """libsecp256k1's own two calls (sign, serialise) on ``coincurve``'s key, as its ``sign_recoverable`` makes them
    with the default nonce function, without its wrapper's Python frames, read straight into the
    :class:`Signature` — or ``None`` when ``module`` is not a ``coincurve`` exposing its binding or it does not sign
    exactly as the wrapper does (then the wrapper signs)."""
    try:
        binding = importlib.import_module(module.__name__ + "._libsecp256k1")
        ffi, lib = binding.ffi, binding.lib
        sign, serialize = (
            lib.secp256k1_ecdsa_sign_recoverable,
            lib.secp256k1_ecdsa_recoverable_signature_serialize_compact,
        )
    except Exception:
        return None
    new, buffer, null = ffi.new, ffi.buffer, ffi.NULL
    make, set_r, set_s, set_v = object.__new__, *(Signature.__dict__[n].__set__ for n in ("r", "s", "v"))

    def sign_recoverable(key: Any, digest: bytes) -> Signature:
        ctx = key.context.ctx
        signature = new("secp256k1_ecdsa_recoverable_signature *")
        if not sign(ctx, signature, digest, key.secret, null, null):
            raise ValueError("the nonce generation function failed, or the private key was invalid")
        out, recid = new("unsigned char[64]"), new("int *")
        serialize(ctx, out, recid, signature)
        rs = buffer(out)[:].hex()  # (_from_compact of r ‖ s ‖ recid, from one hex text; Signature._trusted in place)
        r, s = rs[:64].lstrip("0"), rs[64:].lstrip("0")
        sig = make(Signature)
        set_r(sig, "0x" + (r or "0"))
        set_s(sig, "0x" + (s or "0"))
        set_v(sig, 27 + recid[0])
        return sig

    try:  # once, on a throwaway key: the same signature as the wrapper's, or the wrapper it is
        probe, digest = module.PrivateKey(bytes(range(1, 33))), bytes(range(32))
        same = sign_recoverable(probe, digest) == _from_compact(probe.sign_recoverable(digest, hasher=None))
    except Exception:
        return None
    return sign_recoverable if same else None


class NativeBackend(SigningBackend):
    """libsecp256k1 through ``coincurve`` plus direct Keccak EIP-712 hashing."""

    name = "native"

    def __init__(self, coincurve: Any = None) -> None:
        module = coincurve if coincurve is not None else _native.coincurve_module()
        if module is None:
            raise NativeBackendUnavailableError(_unavailable_message())
        self._private_key_cls = module.PrivateKey
        self._public_key_cls = module.PublicKey
        direct = _direct_signer(module) if coincurve is None else None
        #: (key handle, digest) -> Signature
        self._sign: Callable[[Any, bytes], Signature] = (
            direct
            if direct is not None
            else lambda key, digest: _from_compact(key.sign_recoverable(digest, hasher=None))
        )

    def _key(self, wallet: Wallet) -> Any:
        handle = wallet._handles.get("native")
        if handle is None:
            handle = wallet._handles["native"] = self._private_key_cls(wallet._key)
        return handle

    def sign_digest(self, wallet: Wallet, digest: bytes) -> Signature:
        """Sign a 32-byte digest: RFC 6979 nonce, low-s, compact recoverable."""
        digest = _check_digest(digest)
        try:
            return self._sign(self._key(wallet), digest)
        except Exception as exc:
            failure = type(exc).__name__
        raise _signing_failed(self.name, failure)

    def sign_l1_action(
        self,
        wallet: Wallet,
        action: Any,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> Signature:
        """Sign an L1 action (hashing fused: three Keccak calls and one libsecp256k1 call)."""
        if vault_address is None and expires_after is None and type(nonce) is int and 0 <= nonce < _TWO_64:
            framing = nonce.to_bytes(8, "big") + b"\x00"  # the common case, inlined
        else:
            framing = hash_framing(nonce, vault_address, expires_after)
        new = KECCAK_NEW
        if new is not None:  # (keccak256 without its frame, three times)
            agent = new(_AGENT_PREFIX[bool(is_mainnet)] + new(action_msgpack(action) + framing).digest()).digest()
            digest = new(_EXCHANGE_DIGEST_PREFIX + agent).digest()
        else:
            connection_id = _keccak256(action_msgpack(action) + framing)
            digest = _keccak256(_EXCHANGE_DIGEST_PREFIX + _keccak256(_AGENT_PREFIX[bool(is_mainnet)] + connection_id))
        handle = wallet._handles.get("native")
        try:
            if handle is None:
                handle = self._key(wallet)
            return self._sign(handle, digest)
        except Exception as exc:
            failure = type(exc).__name__
        raise _signing_failed(self.name, failure)

    def sign_typed_data(
        self,
        wallet: Wallet,
        domain: Mapping[str, Any],
        primary_type: str,
        fields: Sequence[tuple[str, str]],
        message: Mapping[str, Any],
    ) -> Signature:
        """Sign an EIP-712 struct by direct hashing."""
        digest = eip712.eip712_digest(
            eip712.domain_separator(domain), eip712.struct_hash(primary_type, fields, message)
        )
        return self.sign_digest(wallet, digest)

    def recover_address(self, digest: bytes, signature: Signature) -> str:
        """Recover the signer's lowercase address."""
        digest = _check_digest(digest)
        try:
            public = self._public_key_cls.from_signature_and_message(signature.to_bytes(), digest, hasher=None)
        except Exception as exc:
            raise SigningError(f"cannot recover a public key from this signature: {exc}") from exc
        return address_from_public_key(public.format(compressed=False)[1:])


class EthAccountBackend(SigningBackend):
    """The baseline: ``eth_account``'s generic EIP-712 encoder and signer, as the SDK uses."""

    name = "eth-account"

    def __init__(self) -> None:
        from eth_account import Account
        from eth_account.messages import encode_typed_data
        from eth_keys import keys

        self._account_cls = Account
        self._encode_typed_data = encode_typed_data
        self._keys = keys

    def _account(self, wallet: Wallet) -> Any:
        handle = wallet._handles.get("eth-account")
        if handle is None:
            handle = wallet._handles["eth-account"] = self._account_cls.from_key(wallet._key)
        return handle

    def _signed_to_signature(self, signed: Any) -> Signature:
        return Signature.from_ints(int(signed.r), int(signed.s), int(signed.v))

    def sign_digest(self, wallet: Wallet, digest: bytes) -> Signature:
        """Sign a 32-byte digest with ``LocalAccount.unsafe_sign_hash``."""
        digest = _check_digest(digest)
        try:
            account = self._account(wallet)
            sign_hash = getattr(account, "unsafe_sign_hash", None) or account.signHash
            signed = sign_hash(digest)
        except Exception as exc:
            failure = type(exc).__name__
        else:
            return self._signed_to_signature(signed)
        raise _signing_failed(self.name, failure)

    def sign_typed_data(
        self,
        wallet: Wallet,
        domain: Mapping[str, Any],
        primary_type: str,
        fields: Sequence[tuple[str, str]],
        message: Mapping[str, Any],
    ) -> Signature:
        """Sign through ``encode_typed_data(full_message=...)`` + ``sign_message``."""
        # Same input validation as the native path (so both reject the same inputs), then let
        # eth-account do its own, independent encoding.
        eip712.struct_hash(primary_type, fields, message)
        document = eip712.typed_data(domain, primary_type, fields, message)
        try:
            signable = self._encode_typed_data(full_message=document)
        except Exception as exc:
            raise InvalidInputError("action", "EIP-712 encodable values", detail=str(exc)) from exc
        try:
            signed = self._account(wallet).sign_message(signable)
        except Exception as exc:
            failure = type(exc).__name__
        else:
            return self._signed_to_signature(signed)
        raise _signing_failed(self.name, failure)

    def sign_l1_action(
        self,
        wallet: Wallet,
        action: Any,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> Signature:
        """Phantom agent typed data signed through eth-account (the SDK's own route)."""
        connection_id = action_hash(action, nonce, vault_address, expires_after)
        message = {"source": "a" if is_mainnet else "b", "connectionId": connection_id}
        return self.sign_typed_data(wallet, eip712.exchange_domain(), "Agent", eip712.AGENT_FIELDS, message)

    def recover_address(self, digest: bytes, signature: Signature) -> str:
        """Recover through ``eth_keys``."""
        digest = _check_digest(digest)
        r, s = int(signature.r, 16), int(signature.s, 16)
        if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
            raise SigningError("cannot recover a public key from this signature: r or s out of range")
        try:
            sig = self._keys.Signature(vrs=(signature.v - 27, r, s))
            public = sig.recover_public_key_from_msg_hash(digest)
        except Exception as exc:
            raise SigningError(f"cannot recover a public key from this signature: {exc}") from exc
        return "0x" + bytes(public.to_canonical_address()).hex()


# --------------------------------------------------------------------------- selection

_select_lock = threading.Lock()
_instances: dict[str, SigningBackend] = {}
_warned = False
_default: SigningBackend | None = None


def _unavailable_message() -> str:
    return (
        f"the native signing backend cannot be loaded ({_native.import_error()}); "
        f"install it with: {_native.INSTALL_HINT}"
    )


def _instance(name: str) -> SigningBackend:
    backend = _instances.get(name)
    if backend is None:
        with _select_lock:
            backend = _instances.get(name)
            if backend is None:
                backend = NativeBackend() if name == "native" else EthAccountBackend()
                _instances[name] = backend
    return backend


def _warn_native_missing_once() -> None:
    global _warned
    with _select_lock:
        if _warned:
            return
        _warned = True
    error = _native.import_error()
    _log.warning(
        "native signing backend unavailable (%s); using the slower eth-account backend. Install it with: %s",
        error,
        _native.INSTALL_HINT,
        extra={"hl": {"backend": "eth-account", "import_error": error, "install": _native.INSTALL_HINT}},
    )


def select_backend(preference: str | None = None, *, events: EventBus | None = None) -> SigningBackend:
    """Choose a signing backend.

    ``preference`` is ``"auto"`` (default), ``"native"`` or ``"eth-account"``; ``None``
    reads ``HYPERLIQUID_SIGNING_BACKEND``.  ``"auto"`` falls back to eth-account when
    ``coincurve`` cannot be imported, logging one warning per process (logger
    ``hyperliquid_client.signing``) that names the import error and the install command.
    ``"native"`` without ``coincurve`` raises :class:`NativeBackendUnavailableError` with the
    same explanation.  An unknown name raises :class:`ConfigError`.  When ``events`` is
    given, a ``signing.backend`` event (``backend``, ``reason``) reports the choice.
    """
    if preference is None:
        raw = os.environ.get(BACKEND_ENV_VAR, "")
        setting, origin = BACKEND_ENV_VAR, f"${BACKEND_ENV_VAR}"
        if not raw.strip():
            raw, origin = "auto", "default"
    else:
        raw, setting, origin = preference, "backend", "argument"
    choice = backend_name(raw)
    if choice is None:
        raise ConfigError(setting, f"expected one of {', '.join(BACKEND_NAMES)}, got {shown(raw)}")

    if choice == "eth-account":
        backend, reason = _instance("eth-account"), f"eth-account requested ({origin})"
    elif choice == "native":
        if _native.coincurve_module() is None:
            raise NativeBackendUnavailableError(_unavailable_message())
        backend, reason = _instance("native"), f"native requested ({origin})"
    elif _native.coincurve_module() is not None:
        backend, reason = _instance("native"), "auto: native backend available"
    else:
        _warn_native_missing_once()
        backend = _instance("eth-account")
        reason = f"auto: native backend unavailable ({_native.import_error()}); install with {_native.INSTALL_HINT}"
    if events is not None:
        events.emit("signing.backend", backend=backend.name, reason=reason)
    return backend


def default_backend() -> SigningBackend:
    """The process-wide backend used when none is passed (chosen once by :func:`select_backend`)."""
    global _default
    backend = _default
    if backend is None:
        backend = select_backend(None)
        _default = backend
    return backend


def resolve_backend(backend: SigningBackend | str | None) -> SigningBackend:
    """A backend instance from an instance, a name, or ``None`` (the default)."""
    if backend is None:
        return _default if _default is not None else default_backend()
    if isinstance(backend, SigningBackend):
        return backend
    if isinstance(backend, str):
        return select_backend(backend)
    raise ConfigError(
        "backend", f"expected a SigningBackend or one of {', '.join(BACKEND_NAMES)}, got {shown(backend)}"
    )


def _reset() -> None:
    """Forget cached instances, the default and the warned flag (tests only)."""
    global _warned, _default
    with _select_lock:
        _instances.clear()
        _warned = False
        _default = None
