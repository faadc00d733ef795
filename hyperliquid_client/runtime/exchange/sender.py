"""The senders' core: sign an action built by the generated ``ExchangeActions`` for ``/exchange``.

:class:`SenderCore` holds the configuration and every step that does no I/O; the sync
``ActionSender`` and async ``AsyncActionSender`` shells (``send``, ``post``, ``resend``: waits and
the request) are generated from one template into :mod:`hyperliquid_client.generated.exchange`
and implement the ``SyncSender`` / ``AsyncSender`` protocols of
:mod:`hyperliquid_client.runtime.caller`.  A send takes a connection and a nonce from the signer's
nonce window (:mod:`~hyperliquid_client.runtime.signing.nonces`), fills, signs and checks the action
(:mod:`._core`), posts it once and classifies the answer; an unknown outcome raises
:class:`IndeterminateError`, which ``resend`` may post again unchanged.  The steps and their rules are
described in ``docs/exchange.md`` ("What the sender does").
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import attrs

from hyperliquid_client.runtime import errors
from hyperliquid_client.runtime.config import MAINNET, Network
from hyperliquid_client.runtime.drift import DriftMonitor
from hyperliquid_client.runtime.errors import ConfigError, IndeterminateError, InvalidInputError, shown
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.exchange._core import (
    SignedAction,
    Signer,
    VerifyMode,
    failure_to_error,
    read_answer,
    sign_action,
)
from hyperliquid_client.runtime.log import get_logger, log
from hyperliquid_client.runtime.ratelimit.limiter import RateLimiter
from hyperliquid_client.runtime.ratelimit.senders import SendGate
from hyperliquid_client.runtime.registry import EndpointSpec
from hyperliquid_client.runtime.results import ExchangeResult
from hyperliquid_client.runtime.results import _fast as _fast_answer
from hyperliquid_client.runtime.signing import (
    NonceManager,
    SigningBackend,
    Wallet,
    nonces,
    normalize_address,
    resolve_backend,
)
from hyperliquid_client.runtime.signing.eip712 import chain_id_from_hex
from hyperliquid_client.runtime.transport import AsyncHttpTransport, HttpTransport
from hyperliquid_client.runtime.transport._core import validate_timeout

__all__ = ["DEFAULT_NONCES", "Call", "SenderCore"]

_log = get_logger("hyperliquid_client.exchange")

DEFAULT_NONCES = nonces.DEFAULT_NONCES  # (defined with the manager: a client holds it without loading senders)

_KEEP_SIGNED = 256


@attrs.frozen
class Call:
    """One ``send``: the signing wallet, the vault it acts for and its deadlines (``time.monotonic``).

    Waiting for a connection and a nonce may take half the budget (until ``waited``): the request keeps
    the rest — an action is never sent with too little time left to hear its answer.
    """

    wallet: Wallet
    vault: str | None
    wait: float
    waited: float
    end: float

    def wait_left(self) -> float:
        """Seconds left to wait for a nonce (at least 1 ms: the callee reports the timeout itself)."""
        return max(0.001, self.waited - time.monotonic())

    def left(self) -> float:
        """Seconds left of the whole call (at least 1 ms)."""
        return max(0.001, self.end - time.monotonic())

    def post_left(self, endpoint: EndpointSpec, stated: float | None) -> float:
        """:meth:`left` for the request itself; :class:`TimeoutError` (nothing sent) when the call's time is up
        (``stated``: the whole call's timeout, which the message names)."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise too_late(endpoint, stated or self.budget)
        return max(0.001, left)

    @property
    def budget(self) -> float:
        """The whole call's timeout as given (what a timeout's message names)."""
        return self.wait * 2


def too_late(endpoint: EndpointSpec, timeout: float) -> errors.TimeoutError:
    """The call's ``timeout`` ran out before its signed request could go: nothing is sent (a request posted with
    no time left could execute unheard, an :class:`IndeterminateError`)."""
    return errors.TimeoutError(
        f"{endpoint.wire}: the call's timeout of {timeout:g}s ran out before the request was sent (nothing was sent)",
        timeout=timeout,
        endpoint=endpoint.qualified_name,
        request_sent=False,
    )


class SenderCore:
    """Configuration and the steps of the sync and async senders that do no I/O."""

    transport: HttpTransport | AsyncHttpTransport

    def __init__(
        self,
        transport: Any,
        network: Network,
        *,
        wallet: Wallet | None,
        account_address: str | None = None,
        vault_address: str | None = None,
        backend: SigningBackend | str | None = None,
        nonces: NonceManager | None = None,
        events: EventBus | None = None,
        verify_signatures: VerifyMode = "once",
        signature_chain_id: str = "0x66eee",
        drift: DriftMonitor | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        if not isinstance(network, Network):
            raise ConfigError("network", f"expected a Network, got {type(network).__name__}")
        if wallet is not None and not isinstance(wallet, Wallet):
            raise ConfigError("wallet", f"expected a hyperliquid_client Wallet or None, got {type(wallet).__name__}")
        if not isinstance(verify_signatures, bool) and verify_signatures != "once":
            raise ConfigError("verify_signatures", f"expected True, False or 'once', got {shown(verify_signatures)}")
        try:
            chain_id_from_hex(signature_chain_id, "signature_chain_id")
            account = normalize_address(account_address, "account_address") if account_address is not None else None
            vault = normalize_address(vault_address, "vault_address") if vault_address is not None else None
        except InvalidInputError as exc:
            raise ConfigError(exc.field, exc.message) from None
        if network.is_mainnet and network.http_url != MAINNET.http_url:
            log(
                _log,
                logging.WARNING,
                "this sender signs for Mainnet while talking to a custom host; a test server "
                "(such as the fake exchange, a testnet) would recover unrelated signers",
                url=network.http_url,
            )
        self.transport = transport
        self.network = network
        self.wallet = wallet
        self.account_address = account
        self.vault_address = vault
        self.nonces = nonces if nonces is not None else DEFAULT_NONCES
        self.events = events if events is not None else EventBus()
        #: reports answers that drift from the spec (``schema.drift``); answers are read strictly anyway
        self.drift = drift if drift is not None else DriftMonitor(self.events)
        self.signer = Signer(
            network=network,
            backend=resolve_backend(backend),
            verify=verify_signatures,
            signature_chain_id=signature_chain_id,
            account_address=account,
        )
        #: the client's rate limits (address allowance, weight budget, batches); ``None``: the transport's alone
        self.limiter = limiter
        self.gate = SendGate(limiter) if limiter is not None else None
        self._signed: OrderedDict[int, SignedAction] = OrderedDict()
        self._signed_lock = threading.Lock()

    # ------------------------------------------------------------------ configuration
    @property
    def verify_signatures(self) -> VerifyMode:
        """Whether fresh signatures are checked before sending."""
        return self.signer.verify

    @property
    def user_address(self) -> str | None:
        """The account actions are for by default: ``account_address``, else the wallet's address."""
        if self.account_address is not None:
            return self.account_address
        return self.wallet.address if self.wallet is not None else None

    def _wallet(self, wallet: Any) -> Wallet:
        chosen = wallet if wallet is not None else self.wallet
        if chosen is None:
            raise InvalidInputError("wallet", "a Wallet (none given and no wallet configured for this client)")
        if not isinstance(chosen, Wallet):
            raise InvalidInputError("wallet", "a hyperliquid_client Wallet", type(chosen).__name__)
        return chosen

    def next_nonce(self, wallet: Wallet | None = None) -> int:
        """Reserve the next nonce of ``wallet`` (the configured one by default), e.g. for multi-sig."""
        return self.nonces.next(self._wallet(wallet).address)

    def _call(self, endpoint: EndpointSpec, wallet: Any, vault_address: str | None, timeout: float | None) -> Call:
        """Check one ``send``'s wallet and vault and start its deadline (waiting included)."""
        w = self._wallet(wallet)
        vault = self._check_vault(endpoint, vault_address)
        default = self.transport.config.default_timeout
        budget = validate_timeout(endpoint.timeout if timeout is None else timeout, default)
        end = time.monotonic() + budget
        return Call(w, vault, budget / 2, end - budget / 2, end)

    def _check_vault(self, endpoint: EndpointSpec, vault_address: str | None) -> str | None:
        if vault_address is not None and not endpoint.vault:
            raise InvalidInputError(
                "vault_address", f"None: {endpoint.wire} is never hashed with a vault address", vault_address
            )
        return vault_address if vault_address is not None else (self.vault_address if endpoint.vault_default else None)

    def sign(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        *,
        wallet: Any = None,
        vault_address: str | None = None,
        expires_after: int | None = None,
        nonce: int | None = None,
    ) -> SignedAction:
        """Sign ``action`` without sending it (what :meth:`send` posts).  Raises before any I/O.

        Without ``nonce`` the next one of the wallet is taken outside the nonce window: send the
        result soon (before 100 later actions of that signer) or the exchange refuses it.
        """
        w = self._wallet(wallet)
        vault = self._check_vault(endpoint, vault_address)
        if nonce is None:
            nonce = self.nonces.next(w.address)
        elif type(nonce) is int and nonce >= 0:
            self.nonces.observe(w.address, nonce)
        return self._sign(endpoint, action, w, vault, expires_after, nonce)

    def _sign(
        self,
        endpoint: EndpointSpec,
        action: dict[str, Any],
        w: Wallet,
        vault: str | None,
        expires_after: int | None,
        nonce: int,
        built: bool = False,
        weight: int | None = None,
    ) -> SignedAction:
        try:
            return sign_action(
                self.signer,
                endpoint,
                action,
                wallet=w,
                nonce=nonce,
                vault_address=vault,
                expires_after=expires_after,
                built=built,
                weight=weight,
            )
        except Exception as exc:
            reason = type(exc).__name__
            self._report("exchange.refused", logging.WARNING, "exchange action refused before sending",
                         action=endpoint.wire, reason=reason)  # fmt: skip
            raise

    def _remember(self, signed: SignedAction) -> None:
        with self._signed_lock:
            self._signed[signed.nonce] = signed
            self._signed.move_to_end(signed.nonce)
            while len(self._signed) > _KEEP_SIGNED:
                self._signed.popitem(last=False)

    def signed_body(self, nonce: int) -> SignedAction | None:
        """The signed request of an indeterminate outcome with ``nonce`` (the last 256 are kept)."""
        with self._signed_lock:
            return self._signed.get(nonce)

    def _for_resend(self, error: IndeterminateError) -> SignedAction:
        if not isinstance(error, IndeterminateError) or error.nonce is None:
            raise InvalidInputError("error", "an IndeterminateError raised by this sender", error)
        signed = self.signed_body(error.nonce)
        if signed is None:
            raise InvalidInputError(
                "error", f"an indeterminate outcome this sender still remembers (nonce {error.nonce} is unknown)"
            )
        return signed

    def _report(self, event: str, level: int, message: str, **fields: Any) -> None:
        """Emit ``event`` (when someone listens) and log ``message`` with the same fields."""
        if self.events.wants(event):
            self.events.emit(event, **fields)
        log(_log, level, message, **fields)

    def _heard(self, event: str, level: int) -> bool:
        """True when ``event`` has a listener or a record at ``level`` would be logged (else nothing is built)."""
        return self.events.wants(event) or _log.isEnabledFor(level)

    def _sent(self, signed: SignedAction, *, resend: bool) -> float:
        event, message = (
            ("exchange.resend", "exchange action resent") if resend else ("exchange.sent", "exchange action sent")
        )
        if self._heard(event, logging.DEBUG):
            self._report(event, logging.DEBUG, message, action=signed.action_type, nonce=signed.nonce,
                         weight=signed.weight)  # fmt: skip
        return time.monotonic()

    def _result(self, signed: SignedAction, status: str, started: float) -> None:
        level = logging.WARNING if status == "indeterminate" else logging.DEBUG
        if status == "indeterminate":
            self._remember(signed)
        if not self._heard("exchange.result", level):
            return
        fields = {"action": signed.action_type, "nonce": signed.nonce, "status": status}
        message = "exchange action outcome unknown" if status == "indeterminate" else "exchange action answered"
        self._report("exchange.result", level, message, **fields, duration=time.monotonic() - started)

    def _on_failure(self, signed: SignedAction, exc: BaseException, started: float, *, resend: bool) -> BaseException:
        err = failure_to_error(signed, exc, resend=resend)
        self._result(signed, "indeterminate" if isinstance(err, IndeterminateError) else "failed", started)
        return err

    def _on_answer(self, signed: SignedAction, raw: Any, started: float, *, resend: bool) -> ExchangeResult:
        # the common answers read straight away (what read_answer gives them: results._fast), the rest by read_answer
        result = _fast_answer(raw, signed.endpoint, signed.nonce, signed.body["action"])
        if result is None:
            try:
                result = read_answer(signed, raw, self.signer, resend=resend, drift=self.drift)
            except Exception as exc:
                self._result(signed, "indeterminate" if isinstance(exc, IndeterminateError) else "rejected", started)
                raise
        if self._heard("exchange.result", logging.DEBUG):  # (whether every element went through: only when heard)
            self._result(signed, _outcome(result), started)
        return result

    def __repr__(self) -> str:
        who = self.wallet.address if self.wallet is not None else None
        return (
            f"{type(self).__name__}(network={self.network.name!r}, wallet={who!r}, "
            f"account={self.account_address!r}, vault={self.vault_address!r}, verify={self.signer.verify})"
        )


def _outcome(result: ExchangeResult) -> str:
    """``exchange.result``'s status of an answered action: ``ok``, ``partial`` (some elements refused) or
    ``rejected`` (every element refused, as when the exchange refuses the whole action)."""
    if result.ok:
        return "ok"
    return "rejected" if len(result.errors) == len(result.statuses) else "partial"
