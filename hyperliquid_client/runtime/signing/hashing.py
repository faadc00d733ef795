"""MessagePack encoding of actions and the L1 action hash (the "connectionId").

``msgpack.packb`` with its defaults is exactly what the official SDK uses: maps in insertion
order, the smallest representation of every value, non-negative integers in the unsigned
family, str8 for 32–255-byte strings.  :func:`action_msgpack` rejects what the server would never
reproduce (floats, integers outside 64 bits, types msgpack would not encode) with the path
of the offending value.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import msgpack

from ..errors import InvalidInputError
from ._keccak import keccak256
from .wallet import normalize_address

__all__ = ["action_hash", "action_msgpack", "check_action", "hash_framing"]

_MAX_U64 = (1 << 64) - 1
_MIN_I64 = -(1 << 63)


def _bad(path: str, expected: str, got: Any) -> InvalidInputError:
    return InvalidInputError(path, expected, got if isinstance(got, str | int) else type(got).__name__)


def check_action(value: Any, path: str = "action") -> None:
    """Raise :class:`InvalidInputError` (naming the path) for anything that cannot be signed."""
    t = type(value)
    if isinstance(value, str | bool) or value is None:
        return
    if isinstance(value, int):
        if _MIN_I64 <= value <= _MAX_U64:
            return
        raise _bad(path, "an integer that fits in 64 bits", value)
    if t is dict or isinstance(value, Mapping):
        for k, v in value.items():
            if k.__class__ is not str:  # a key is packed and hashed too (a float key is a float signed)
                check_action(k, f"{path}[{k!r}] (a key)")
            check_action(v, f"{path}.{k}")
        return
    if t is list or t is tuple or isinstance(value, list | tuple):  # (a subclass packs, and goes in JSON, as its base)
        for i, v in enumerate(value):
            check_action(v, f"{path}[{i}]")
        return
    if isinstance(value, float):  # (a float subclass, numpy's float64 say, is a float too)
        raise _bad(path, "no floats in actions (numbers go on the wire as strings or integers)", value)
    raise _bad(path, "str, int, bool, None, list or mapping", value)


def _default(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


_local = threading.local()


def _packer() -> msgpack.Packer:
    packer = msgpack.Packer(default=_default)
    _local.packer = packer
    return packer


def action_msgpack(action: Any) -> bytes:
    """The MessagePack bytes of ``action`` as the official SDK produces them.

    ``action`` is usually a mapping (key order is significant), but any msgpack-able value
    is accepted (multi-sig inner signatures hash a 3-element list).  Floats, integers
    outside 64 bits and unsupported types raise :class:`InvalidInputError` naming the path.
    """
    # One Packer per thread (a Packer is not thread-safe; packb would build one per call).
    packer = getattr(_local, "packer", None) or _packer()
    try:
        packed: bytes = packer.pack(action)
    except Exception as exc:
        _local.packer = None  # its buffer may hold a partial object
        _check(action)  # raises with the path of the offending value
        raise InvalidInputError("action", "a msgpack-serialisable action", detail=str(exc)) from exc
    # A float is packed as float32/float64 (0xca/0xcb).  Those bytes also occur inside
    # strings and integers, so a hit only triggers the exact (slower) walk.  (An int needle: a one-byte
    # search without the buffer protocol's set-up, ~20 ns against ~140 ns for ``b"\xcb" in packed``.)
    if 0xCB in packed or 0xCA in packed:
        _check(action)
    return packed


def _check(action: Any) -> None:
    """:func:`check_action`, an action nested past the interpreter's recursion limit (or holding itself) refused
    as input too."""
    try:
        check_action(action)
    except RecursionError:
        raise InvalidInputError(
            "action", "an action nested a few levels deep", detail="it nests too deeply, or contains itself"
        ) from None


def _u64(value: Any, field: str) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_U64:
        raise InvalidInputError(field, "an integer in 0..2**64-1", value)
    return value


def hash_framing(nonce: int, vault_address: str | None, expires_after: int | None) -> bytes:
    """The bytes appended to the msgpack of an action before hashing.

    ``nonce`` (8 bytes BE) ‖ ``00`` or ``01 ‖ vault (20 bytes)`` ‖ (``00 ‖ expiresAfter`` (8
    bytes BE) only when set).
    """
    out = _u64(nonce, "nonce").to_bytes(8, "big")
    if vault_address is None:
        out += b"\x00"
    else:
        out += b"\x01" + bytes.fromhex(normalize_address(vault_address, "vault_address")[2:])
    if expires_after is not None:
        out += b"\x00" + _u64(expires_after, "expires_after").to_bytes(8, "big")
    return out


def action_hash(action: Any, nonce: int, vault_address: str | None = None, expires_after: int | None = None) -> bytes:
    """keccak256(msgpack(action) ‖ framing): the 32-byte L1 action hash ("connectionId")."""
    return keccak256(action_msgpack(action) + hash_framing(nonce, vault_address, expires_after))
