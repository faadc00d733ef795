"""The recoverable ECDSA signature as Hyperliquid puts it on the wire."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import InvalidInputError

__all__ = ["SECP256K1_N", "Signature"]

#: Order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_MINIMAL_HEX = re.compile(r"0x(?:0|[1-9a-f][0-9a-f]{0,63})")
_ANY_HEX = re.compile(r"0[xX][0-9a-fA-F]{1,64}")


def _check_minimal_hex(_inst: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or _MINIMAL_HEX.fullmatch(value) is None:
        raise InvalidInputError(
            f"signature.{attribute.name}", "0x-prefixed lowercase hex without leading zeros (at most 64 digits)", value
        )


def _check_v(_inst: Any, _attribute: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value not in (27, 28):
        raise InvalidInputError("signature.v", "27 or 28", value)


@attrs.frozen(slots=True)
class Signature:
    """A secp256k1 signature: ``r`` and ``s`` as the official SDK emits them, ``v`` 27/28.

    ``r`` and ``s`` are ``"0x"`` + lowercase hex **without leading zeros** (the SDK formats
    integers, so about one signature in six has a shorter string); this matters because
    multi-sig inner signatures are hashed as strings.  Use :meth:`from_wire` to accept the
    64-digit padded form other clients send.
    """

    r: str = attrs.field(validator=_check_minimal_hex)
    s: str = attrs.field(validator=_check_minimal_hex)
    v: int = attrs.field(validator=_check_v)

    @classmethod
    def _trusted(cls, r: str, s: str, v: int) -> Signature:
        """Construct without validation (backends, from values they just produced)."""
        sig = object.__new__(cls)
        _set_r(sig, r)
        _set_s(sig, s)
        _set_v(sig, v)
        return sig

    @classmethod
    def from_ints(cls, r: int, s: int, v: int) -> Signature:
        """Build from integer ``r``, ``s`` and ``v`` (27/28, or a recovery id 0/1)."""
        if v in (0, 1):
            v += 27
        return cls(hex(r), hex(s), v)

    @classmethod
    def from_bytes(cls, sig: bytes) -> Signature:
        """Build from 65 bytes ``r ‖ s ‖ recovery_id`` (recovery id 0/1 or 27/28)."""
        if len(sig) != 65:
            raise InvalidInputError("signature", "65 bytes r||s||v", f"{len(sig)} bytes")
        return cls.from_ints(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64])

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any] | Signature) -> Signature:
        """Parse ``{"r", "s", "v"}`` as received (padded or minimal hex, either case)."""
        if isinstance(wire, Signature):
            return wire
        if not isinstance(wire, Mapping):
            raise InvalidInputError("signature", 'a mapping {"r", "s", "v"}', type(wire).__name__)
        values = []
        for name in ("r", "s"):
            text = wire.get(name)
            if not isinstance(text, str) or _ANY_HEX.fullmatch(text) is None:
                raise InvalidInputError(f"signature.{name}", "0x-prefixed hex of at most 64 digits", text)
            values.append(int(text, 16))
        v = wire.get("v")
        if type(v) is not int or v not in (0, 1, 27, 28):
            raise InvalidInputError("signature.v", "27 or 28", v)
        return cls.from_ints(values[0], values[1], v)

    @property
    def recovery_id(self) -> int:
        """``v - 27`` (0 or 1)."""
        return self.v - 27

    def to_bytes(self) -> bytes:
        """65 bytes ``r ‖ s ‖ recovery_id`` (the compact recoverable form of libsecp256k1)."""
        return int(self.r, 16).to_bytes(32, "big") + int(self.s, 16).to_bytes(32, "big") + bytes((self.v - 27,))

    def to_wire(self) -> dict[str, Any]:
        """``{"r": ..., "s": ..., "v": ...}`` in the SDK's key order."""
        return {"r": self.r, "s": self.s, "v": self.v}

    def is_low_s(self) -> bool:
        """True when ``s <= n/2`` (the canonical form every RFC 6979 signer here produces)."""
        return 0 < int(self.s, 16) <= SECP256K1_N // 2


# Slot descriptors: setting through them bypasses the frozen ``__setattr__`` (fast path of
# :meth:`Signature._trusted`).
_set_r = Signature.__dict__["r"].__set__
_set_s = Signature.__dict__["s"].__set__
_set_v = Signature.__dict__["v"].__set__
