"""Keccak-256 (the Ethereum hash, not NIST SHA3-256).

The fastest implementation that imports wins:

1. ``sha3.keccak_256`` from ``safe-pysha3`` (a small C extension; ~0.5 µs per short input);
2. pycryptodome's Keccak (always present: eth-account depends on it; ~4 µs per call, most
   of it ctypes overhead);
3. ``eth_hash.auto`` as a last resort.

:data:`KECCAK_IMPLEMENTATION` names the one in use (the benchmark reports it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["KECCAK_IMPLEMENTATION", "keccak256"]


def _load() -> tuple[str, Callable[[bytes], bytes]]:
    try:
        from sha3 import keccak_256 as _pysha3_keccak

        if _pysha3_keccak(b"").digest().hex() != "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470":
            raise ImportError("sha3.keccak_256 is not Keccak-256")  # pragma: no cover - a foreign 'sha3' module
    except ImportError:
        pass
    else:

        def keccak_pysha3(data: bytes) -> bytes:
            return _pysha3_keccak(data).digest()

        return "safe-pysha3", keccak_pysha3

    try:
        from Crypto.Hash.keccak import Keccak_Hash
    except ImportError:  # pragma: no cover - pycryptodome ships with eth-account
        from eth_hash.auto import keccak as _eth_keccak

        def keccak_eth_hash(data: bytes) -> bytes:
            return bytes(_eth_keccak(data))

        return "eth-hash", keccak_eth_hash

    def keccak_pycryptodome(data: bytes) -> bytes:
        # Keccak_Hash(data, digest_bytes, update_after_digest) is what ``keccak.new`` builds
        # after parsing its keyword arguments; calling it directly saves ~10 %.
        return Keccak_Hash(data, 32, False).digest()

    return "pycryptodome", keccak_pycryptodome


KECCAK_IMPLEMENTATION, keccak256 = _load()
#: the hash object's constructor (``keccak_256(data).digest()`` is :func:`keccak256`) when the implementation has
#: one to call directly (pysha3), else ``None``: the order path's three nested hashes without a frame each
KECCAK_NEW: Callable[[bytes], Any] | None = (
    importlib.import_module("sha3").keccak_256 if KECCAK_IMPLEMENTATION == "safe-pysha3" else None
)
