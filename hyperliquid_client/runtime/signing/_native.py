"""Lazy, injectable import of the native secp256k1 binding (``coincurve``).

The import is attempted once per process on first use; tests simulate a missing binding by
setting ``sys.modules["coincurve"] = None`` before the first call (or calling
:func:`_reset` afterwards).
"""

from __future__ import annotations

import threading
from types import ModuleType

__all__ = ["INSTALL_HINT", "coincurve_module", "import_error"]

#: What to install to get the native backend.
INSTALL_HINT = "pip install 'hyperliquid-client[native]'"

_lock = threading.Lock()
_loaded = False
_module: ModuleType | None = None
_error: str | None = None


def _load() -> None:
    global _loaded, _module, _error
    with _lock:
        if _loaded:
            return
        try:
            import coincurve

            # Touch the two entry points we use so a broken build fails here, not mid-signing.
            coincurve.PrivateKey.sign_recoverable  # noqa: B018
            coincurve.PublicKey.from_signature_and_message  # noqa: B018
        except Exception as exc:  # ImportError, OSError from a missing shared library, ...
            _module = None
            _error = f"{type(exc).__name__}: {exc}"
        else:
            _module = coincurve
            _error = None
        _loaded = True


def coincurve_module() -> ModuleType | None:
    """The imported ``coincurve`` module, or ``None`` when it cannot be imported."""
    if not _loaded:
        _load()
    return _module


def import_error() -> str | None:
    """Why ``coincurve`` could not be imported (``None`` when it could)."""
    if not _loaded:
        _load()
    return _error


def _reset() -> None:
    """Forget the cached import result (tests only)."""
    global _loaded, _module, _error
    with _lock:
        _loaded = False
        _module = None
        _error = None
