"""The signing wallet: a secp256k1 private key that never shows itself.

The key is kept in a private slot; ``repr``/``str`` show only the address; errors about a
bad key describe what was expected without echoing the value; wallets refuse to be pickled;
and :class:`KeyRedactionFilter` (installed on the ``hyperliquid_client`` logger) scrubs the hex of
every live wallet key from log records as defence in depth.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import weakref
from typing import Any, NoReturn

from ..errors import InvalidInputError
from . import _native
from ._keccak import keccak256
from .signature import SECP256K1_N

__all__ = ["KeyRedactionFilter", "Wallet", "checksum_address", "normalize_address"]

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


_KEY_EXPECTED = "32 bytes: 64 hex digits (0x optional) or raw bytes"


def _parse_key(text: object) -> tuple[bytes | None, str | None]:
    """Parse a private key without raising (so no frame holding the key is in a traceback).

    Returns ``(key, None)`` or ``(None, reason)``: what is wrong, after what a key is (the
    error says that); the reason never contains the key.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        if len(raw) != 32:
            return None, f"got {len(raw)} bytes"
    elif isinstance(text, str):
        body = text[2:] if text[:2] in ("0x", "0X") else text
        if len(body) != 64:
            return None, f"got {len(body)} characters"
        if not _HEX_DIGITS.issuperset(body):
            return None, "found a non-hex character"
        raw = bytes.fromhex(body)
    else:
        return None, f"got {type(text).__name__}"
    value = int.from_bytes(raw, "big")
    if value == 0:
        return None, "the key is zero"
    if value >= SECP256K1_N:
        return None, "the key is not below the secp256k1 curve order"
    return raw, None


def _public_key_uncompressed(key: bytes) -> bytes:
    """64 bytes X ‖ Y of the public key (native binding when available, else eth-keys)."""
    coincurve = _native.coincurve_module()
    if coincurve is not None:
        return coincurve.PublicKey.from_secret(key).format(compressed=False)[1:]
    from eth_keys.backends.native.ecdsa import private_key_to_public_key

    return private_key_to_public_key(key)


def address_from_public_key(public_key: bytes) -> str:
    """Lowercase ``0x`` address of a 64-byte uncompressed public key (X ‖ Y)."""
    return "0x" + keccak256(public_key)[-20:].hex()


def normalize_address(address: object, field: str = "address") -> str:
    """Validate a ``0x`` + 40-hex address and return it lowercase; a mixed-case one must carry a valid EIP-55
    checksum (:func:`refuse_bad_checksum`)."""
    if (
        not isinstance(address, str)
        or len(address) != 42
        or address[:2] not in ("0x", "0X")
        or not _HEX_DIGITS.issuperset(address[2:])
    ):
        raise InvalidInputError(field, "an address: 0x followed by 40 hex digits", address)
    refuse_bad_checksum(field, address)
    return "0x" + address[2:].lower()


@functools.lru_cache(maxsize=1024)
def _eip55(lower: str) -> str:
    """The EIP-55 mixed-case form of 40 lowercase hex digits (a letter is upper where the Keccak of the lowercase
    text has a nibble of 8 or more)."""
    digest = keccak256(lower.encode("ascii")).hex()
    return "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, digest[:40], strict=True))


def refuse_bad_checksum(field: str, address: str) -> None:
    """Refuse (:class:`InvalidInputError` naming ``field``) a ``0x`` + 40-hex ``address`` whose letters mix cases
    that are not its EIP-55 checksum: one mistyped character in a copied address, which would otherwise be signed
    and sent (funds to an address nobody holds).  All-lowercase and all-uppercase addresses carry no checksum."""
    digits = address[2:]
    lower = str.lower(digits)
    if digits == lower or digits == str.upper(digits) or _eip55(lower) == digits:
        return
    raise InvalidInputError(
        field,
        "an address whose mixed case is its EIP-55 checksum (or written in one case)",
        address,
        detail="the case does not match the checksum: is a character mistyped? (copy it again, or write it in "
        "lowercase to send it unchecked)",
    )


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case form of ``address`` (for display; the wire uses lowercase)."""
    return "0x" + _eip55(normalize_address(address)[2:])


_live_lock = threading.Lock()
# Keyed by id(): a WeakSet would merge wallets of the same key (they compare equal) and then
# forget the live one when an equal, older one is collected.
_live: weakref.WeakValueDictionary[int, Wallet] = weakref.WeakValueDictionary()


class Wallet:
    """A private key and its address.

    Build with :meth:`from_key` (hex with or without ``0x``, or 32 bytes) or
    :meth:`generate`.  ``address`` is lowercase (the wire form); ``checksum_address`` is the
    EIP-55 display form.  ``repr``/``str`` show only the address.  Wallets are immutable,
    compare equal by address, are shared (not duplicated) by ``copy``/``deepcopy`` and refuse
    to be pickled.
    """

    __slots__ = ("__weakref__", "_address", "_handles", "_key")

    _key: bytes
    _address: str
    _handles: dict[str, Any]

    def __init__(self, private_key: str | bytes) -> None:
        key, reason = _parse_key(private_key)
        if key is None:
            # Drop our reference before raising: a traceback rendered with locals must not
            # show the key text.
            del private_key
            raise InvalidInputError(
                "private key", "32 bytes: 64 hex digits (0x optional) or raw bytes", detail=reason
            ) from None
        del private_key
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_address", address_from_public_key(_public_key_uncompressed(key)))
        object.__setattr__(self, "_handles", {})
        with _live_lock:
            _live[id(self)] = self

    @classmethod
    def from_key(cls, private_key: str | bytes) -> Wallet:
        """Wallet from a hex private key (``0x`` optional) or 32 raw bytes.

        Raises :class:`~hyperliquid_client.runtime.errors.InvalidInputError` for a wrong length,
        non-hex text, zero, or a value not below the curve order; the message never
        contains the key.
        """
        key, reason = _parse_key(private_key)
        del private_key  # not in this frame's locals if we raise
        if key is None:
            raise InvalidInputError(
                "private key", "32 bytes: 64 hex digits (0x optional) or raw bytes", detail=reason
            ) from None
        return cls(key)

    @classmethod
    def generate(cls) -> Wallet:
        """A new random wallet (from :mod:`secrets`)."""
        while True:
            candidate = secrets.token_bytes(32)
            if 0 < int.from_bytes(candidate, "big") < SECP256K1_N:
                return cls(candidate)

    @property
    def address(self) -> str:
        """The address, lowercase ``0x…`` (as it goes on the wire)."""
        return self._address

    @property
    def checksum_address(self) -> str:
        """The address in EIP-55 mixed case (for display)."""
        return checksum_address(self._address)

    def _secret_hex(self) -> str:
        return self._key.hex()

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Wallet is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Wallet is immutable")

    def __repr__(self) -> str:
        if not hasattr(self, "_address"):  # e.g. rendered from a failing constructor's locals
            return "Wallet(<not initialised>)"
        return f"Wallet(address={self.checksum_address!r})"

    def __str__(self) -> str:
        return self.checksum_address if hasattr(self, "_address") else repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wallet):
            return NotImplemented
        return self._address == other._address

    def __hash__(self) -> int:
        return hash(("hyperliquid_client.Wallet", self._address))

    def __copy__(self) -> Wallet:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Wallet:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "Wallet objects cannot be pickled (that would write the private key); keep the key in a secret store"
        )

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        self.__reduce__()
        raise AssertionError("unreachable")  # pragma: no cover

    def __getstate__(self) -> NoReturn:
        self.__reduce__()
        raise AssertionError("unreachable")  # pragma: no cover


def _live_key_hexes() -> list[str]:
    with _live_lock:
        wallets = list(_live.values())
    return [w._secret_hex() for w in wallets]


_REDACTED = "[redacted private key]"


def redact(text: str) -> str:
    """Replace the hex of any live wallet key in ``text`` (either case, ``0x`` or not)."""
    if not text:
        return text
    lowered = text.lower()
    for key_hex in _live_key_hexes():
        if key_hex in lowered:
            # Rebuild with case-insensitive matching; rare path.
            start = 0
            out = []
            while True:
                i = lowered.find(key_hex, start)
                if i < 0:
                    out.append(text[start:])
                    break
                out.append(text[start:i])
                out.append(_REDACTED)
                start = i + len(key_hex)
            text = "".join(out)
            lowered = text.lower()
    return text


class KeyRedactionFilter(logging.Filter):
    """Logging filter that scrubs the hex of every live :class:`Wallet` key from records.

    Installed on the ``hyperliquid_client`` logger (records logged directly there) and on
    ``hyperliquid_client.signing``; attach it to your own handlers to cover every
    ``hyperliquid_client.*`` logger.  Nothing in this library logs a key; this is defence in depth.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place when it mentions a live key; always keep the record."""
        if not _live:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        hl = getattr(record, "hl", None)
        if isinstance(hl, dict):
            for k, v in list(hl.items()):
                if isinstance(v, str):
                    hl[k] = redact(v)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = KeyRedactionFilter()
for _name in ("hyperliquid_client", "hyperliquid_client.signing"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, KeyRedactionFilter) for f in _logger.filters):
        _logger.addFilter(_FILTER)
