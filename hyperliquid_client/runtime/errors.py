"""One exception hierarchy for everything the library raises.

Every exception derives from :class:`HyperliquidError`.  The tree mirrors httpx's
(transport → timeout), and each class carries the details a caller needs as attributes.
The original cause is always chained (``raise ... from exc``).

Messages never contain secrets: request bodies are not embedded (only endpoint names, statuses
and short, non-secret excerpts); a long hex value shown as "got" (an address, a hash, a private key
passed in the wrong parameter) is shortened to its first characters; and the hex of any loaded
:class:`~hyperliquid_client.runtime.signing.Wallet` key is replaced in every message, whatever
put it there.
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "AddressLimitError",
    "ApiRejectedError",
    "CircuitOpenError",
    "ConfigError",
    "EventLoopError",
    "HTTPStatusError",
    "HyperliquidError",
    "IndeterminateError",
    "InvalidInputError",
    "InvalidResponseError",
    "MetadataUnavailableError",
    "NativeBackendUnavailableError",
    "RateLimitedError",
    "SignatureMismatchError",
    "SigningError",
    "StorageError",
    "StorageOverflowError",
    "SubscriptionLimitError",
    "TimeoutError",
    "TransportError",
    "WebSocketError",
]

_EXCERPT = 200
#: a run of hex digits longer than a cloid (32 digits, not secret: shown whole), so possibly part of a key
_HEX_RUN = re.compile(r"(?:0[xX])?[0-9a-fA-F]{33,}")
_WALLET_MODULE = "hyperliquid_client.runtime.signing.wallet"


def _excerpt(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _redact_keys(text: str) -> str:
    """``text`` with the hex of every loaded wallet key replaced (no wallet module: no wallet)."""
    wallet = sys.modules.get(_WALLET_MODULE)
    return text if wallet is None else wallet.redact(text)


def _shorten_hex(text: str) -> str:
    """``text`` with each long hex run cut to its first 4 digits: ``0x4c0b…(66 chars)``.

    What error messages show of a rejected value that may be secret (a private key passed as an
    address): enough to recognise it, never enough to use it.
    """
    return _HEX_RUN.sub(lambda m: f"{m.group()[:6]}…({len(m.group())} chars)", text)


#: a bytes literal in a repr longer than a cloid's 16 bytes (shown whole), so possibly a key: ``b'…'``
_BYTES_LITERAL = re.compile(r"""b(?:'(?:[^'\\]|\\.){17,}'|"(?:[^"\\]|\\.){17,}")""")


_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
#: a URL's password: from the user's colon to the last ``@`` before the path (as URL parsers split it)
_PASSWORD_URL = re.compile(r"(://[^:/@\s]*:)[^/\s]*(@)")


def hide_password(text: str) -> str:
    """``text`` (a dsn or a URL such as ``redis://:pw@host``) with any password replaced by ``***``."""
    return _PASSWORD_URL.sub(r"\1***\2", _PASSWORD_KV.sub(r"\1***", text))


def shown(value: Any) -> str:
    """What a message shows of a rejected ``value``: its repr, with what may be a secret cut — a live wallet's key
    redacted, a long hex run shortened, bytes longer than a cloid's 16 named by their length only (also inside a
    list or a mapping), a URL's or a dsn's password hidden — at most 200 characters."""
    if isinstance(value, bytes | bytearray | memoryview) and len(value) > 16:
        return f"{type(value).__name__} of length {len(value)}"
    return _excerpt(_BYTES_LITERAL.sub("b'…'", _shorten_hex(hide_password(_redact_keys(repr(value)))))) or ""


#: ``InvalidInputError``'s ``got`` when no rejected value is shown
_NO_VALUE: Any = object()


class HyperliquidError(Exception):
    """Base class of every error raised by this library."""

    def __init__(self, message: str) -> None:
        message = _redact_keys(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(HyperliquidError, ValueError):
    """A configuration value (argument or environment variable) is invalid.

    ``setting`` names the option or environment variable that is wrong.
    """

    def __init__(self, setting: str, message: str) -> None:
        message = message.removeprefix(f"invalid {setting}: ")  # an InvalidInputError's message, re-raised
        super().__init__(f"invalid setting {setting}: {message}")
        self.setting = setting


class InvalidInputError(HyperliquidError, ValueError):
    """An argument was rejected before anything was sent.

    ``field`` is the parameter name (dotted for nested values, e.g. ``orders[2].sz``) and
    ``expected`` describes what would have been accepted.
    """

    def __init__(self, field: str, expected: str, got: Any = _NO_VALUE, *, detail: str | None = None) -> None:
        msg = f"invalid {field}: expected {expected}"
        if got is not _NO_VALUE:  # (``None`` given is shown: "got None")
            msg += f", got {shown(got)}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
        self.field = field
        self.expected = expected
        #: the rejected value (a string holding a long hex run is kept shortened, and bytes longer than a cloid's, or
        #: a container holding some, as shown; ``None`` when none is shown)
        self.got = _shorten_hex(_redact_keys(got)) if isinstance(got, str) and _HEX_RUN.search(got) else got
        if isinstance(got, bytes | bytearray | memoryview) and len(got) > 16:
            self.got = shown(got)
        elif isinstance(got, list | tuple | dict | set) and _BYTES_LITERAL.search(repr(got)):
            self.got = shown(got)  # (a container holding such bytes: kept as shown)
        if got is _NO_VALUE:
            self.got = None
        self.detail = detail
        self._shown = got is not _NO_VALUE

    def named(self, field: str) -> InvalidInputError:
        """The same refusal naming ``field`` (where the caller gave the value: ``orders[1].coin`` for ``coin``)."""
        return InvalidInputError(field, self.expected, self.got if self._shown else _NO_VALUE, detail=self.detail)


class TransportError(HyperliquidError):
    """The request could not be completed at the transport level (connection, TLS, protocol)."""

    def __init__(
        self, message: str, *, endpoint: str | None = None, url: str | None = None, request_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.url = url
        #: True when the request may have reached the server (a timeout or a connection lost after
        #: sending); the exchange layer turns such failures of signed requests into
        #: :class:`IndeterminateError`.
        self.request_sent = request_sent


class TimeoutError(TransportError, builtins.TimeoutError):  # noqa: A001 - deliberately mirrors httpx's naming
    """No (complete) answer arrived within ``timeout`` seconds (or nothing on a stream: the message says why).

    Also a builtin :class:`TimeoutError`, so ``except TimeoutError:`` catches it whichever of the two is in scope.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None,
        endpoint: str | None = None,
        url: str | None = None,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message, endpoint=endpoint, url=url, request_sent=request_sent)
        self.timeout = timeout


class HTTPStatusError(TransportError):
    """The server answered with an unexpected HTTP status (a redirect, 4xx other than 429, or 5xx).

    ``body_excerpt`` is a short summary of the body (an HTML page is described, not quoted);
    ``location`` the target of a redirect (redirects are never followed).
    """

    def __init__(
        self,
        status: int,
        *,
        body: str | bytes | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        request_sent: bool = True,
        location: str | None = None,
    ) -> None:
        self.status = status
        self.location = location
        self.body_excerpt = _excerpt(body)
        msg = f"HTTP {status} from {endpoint or url or 'server'}"
        if self.body_excerpt:
            msg += f": {self.body_excerpt}"
        # a status code means the request reached the server
        super().__init__(msg, endpoint=endpoint, url=url, request_sent=request_sent)


class RateLimitedError(HTTPStatusError):
    """A rate limit is in the way: HTTP 429 from the server, or a budget the client keeps.

    ``retry_after`` is in seconds when known (the server's ``Retry-After``, or when the client's
    budget returns).  ``local`` is true when the client refused the call itself, before anything
    was sent (``request_sent`` is then false); ``status`` is 429 either way.
    """

    def __init__(
        self,
        *,
        retry_after: float | None = None,
        body: str | bytes | None = None,
        endpoint: str | None = None,
        url: str | None = None,
        message: str | None = None,
        local: bool = False,
    ) -> None:
        super().__init__(429, body=body, endpoint=endpoint, url=url, request_sent=not local)
        self.retry_after = retry_after
        self.local = local
        if message is not None:
            self.message = message
        elif retry_after is not None:
            self.message += f" (retry after {retry_after:g}s)"


class AddressLimitError(RateLimitedError):
    """The address's request allowance is used up: refused locally before signing anything.

    ``address`` is the account the action is for; ``used`` / ``cap`` the allowance as last known.
    Cancels are never refused this way.
    """

    def __init__(self, message: str, *, address: str, used: int, cap: int, retry_after: float | None) -> None:
        super().__init__(retry_after=retry_after, message=message, local=True)
        self.address = address
        self.used = used
        self.cap = cap


class CircuitOpenError(TransportError):
    """Calls to ``host`` fail fast: it failed repeatedly and is cooling down (nothing was sent).

    ``retry_after`` is the time left of the cool-down in seconds; one probe goes through after it.
    """

    def __init__(self, message: str, *, host: str, retry_after: float, endpoint: str | None = None) -> None:
        super().__init__(message, endpoint=endpoint, request_sent=False)
        self.host = host
        self.retry_after = retry_after


class WebSocketError(TransportError):
    """A WebSocket connection failed or a WebSocket protocol error was reported."""


class SubscriptionLimitError(WebSocketError):
    """A configured subscription or connection limit would be exceeded."""


class ApiRejectedError(HyperliquidError):
    """The exchange answered and refused the request (``{"status": "err", ...}``).

    ``server_message`` is the exchange's own text; ``response`` the decoded body.
    """

    def __init__(self, server_message: str, *, endpoint: str | None = None, response: Any = None) -> None:
        where = f" by {endpoint}" if endpoint else ""
        super().__init__(f"request rejected{where}: {server_message}")
        self.server_message = server_message
        self.endpoint = endpoint
        self.response = response


class InvalidResponseError(HyperliquidError):
    """A response did not match its declared schema.

    ``path`` locates the bad field (``$.levels[0][3].px``), ``expected`` what the schema wanted.
    """

    def __init__(self, path: str, expected: str, got: Any = None, *, endpoint: str | None = None) -> None:
        where = f" from {endpoint}" if endpoint else ""
        msg = f"invalid response{where} at {path}: expected {expected}"
        if got is not None:
            msg += f", got {_excerpt(repr(got))}"
        super().__init__(msg)
        self.path = path
        self.expected = expected
        self.got = got
        self.endpoint = endpoint


class IndeterminateError(HyperliquidError):
    """A signed request may or may not have been executed.

    Raised when the connection was lost or timed out after the request was sent.  Never
    re-sign blindly: look the outcome up (for orders: by ``cloids`` via ``orderStatus``).

    ``nonce`` is the signed action's nonce; it is ``None`` only when it is not known: for an order merged into
    a batch (rate limits' ``batch_window``) whose sending caller was cancelled mid-way.
    ``cloids`` are the action's client order ids (empty for orders placed without one unless
    ``ClientConfig.auto_cloid`` is on); ``action_type`` its wire type.
    """

    def __init__(
        self,
        message: str,
        *,
        nonce: int | None = None,
        cloids: Sequence[str] = (),
        action_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.nonce = nonce
        self.cloids = tuple(cloids)
        self.action_type = action_type


class SigningError(HyperliquidError):
    """Signing could not be performed (bad key material, unsupported action, backend failure)."""


class NativeBackendUnavailableError(SigningError):
    """The native signing backend was requested but cannot be loaded."""


class SignatureMismatchError(SigningError):
    """The address recovered from a fresh signature is not the expected signer."""


class MetadataUnavailableError(HyperliquidError):
    """Metadata needed to build a request (asset ids, decimals) could not be obtained."""


class StorageError(HyperliquidError):
    """A storage backend failed or rejected a row."""


class StorageOverflowError(StorageError):
    """The storage buffer is full and the overflow policy refused the row."""


class EventLoopError(HyperliquidError, RuntimeError):
    """An asyncio object (an :class:`~hyperliquid_client.AsyncClient`, its transport or streams) was used from an
    event loop other than the one it was first used in.

    Its connections, tasks and locks belong to that first loop: create one ``AsyncClient`` per event loop (per
    ``asyncio.run()``, per test when each test has its own loop).
    """
