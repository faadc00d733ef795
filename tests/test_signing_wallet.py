"""Wallet parsing and key secrecy: the key never shows in reprs, logs, errors, events or
traceback-locals renderings produced by our code."""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
import types
from typing import Any

import pytest

from hyperliquid_client.runtime.errors import InvalidInputError, SigningError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.signing import (
    KeyRedactionFilter,
    Signature,
    Wallet,
    checksum_address,
    l1_digest,
    recover_address,
    select_backend,
    sign_l1_action,
    sign_user_signed_action,
    user_signed_type,
)
from hyperliquid_client.runtime.signing.backends import EthAccountBackend, NativeBackend
from hyperliquid_client.runtime.signing.signature import SECP256K1_N

KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
# Independently known: this is the classic web3.py docs key; address from eth-account docs.
KEY_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
ORDER = {
    "type": "order",
    "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Ioc"}}}],
    "grouping": "na",
}


def _forms(key_hex: str) -> list[str]:
    return [key_hex.lower(), key_hex.upper(), bytes.fromhex(key_hex).__repr__()[2:-1]]


def _assert_clean(text: str, key_hex: str = KEY_HEX) -> None:
    for form in _forms(key_hex):
        assert form not in text, "private key material leaked"
    # also a near-miss key (one digit changed) given to a failing constructor
    assert key_hex[:40].lower() not in text.lower(), "private key material leaked"


def test_from_hex_with_and_without_prefix_and_bytes() -> None:
    a = Wallet.from_key("0x" + KEY_HEX)
    b = Wallet.from_key(KEY_HEX.upper())
    c = Wallet.from_key(bytes.fromhex(KEY_HEX))
    assert a == b == c
    assert a.address == KEY_ADDRESS.lower()
    assert a.checksum_address == KEY_ADDRESS
    assert hash(a) == hash(c)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("0x" + "ab" * 31, "64 hex digits"),
        ("ab" * 33, "64 hex digits"),
        ("0x" + "zz" * 32, "non-hex"),
        ("0x" + "00" * 32, "zero"),
        (hex(SECP256K1_N)[2:], "curve order"),
        ("f" * 64, "curve order"),
        (b"\x01" * 31, "32 bytes"),
        (12345, "got int"),
    ],
)
def test_bad_keys_rejected_without_echo(bad: Any, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as info:
        Wallet.from_key(bad)
    text = str(info.value) + repr(info.value)
    if isinstance(bad, str):
        body = bad[2:] if bad.startswith("0x") else bad
        assert body.lower() not in text.lower()
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_repr_str_copy_pickle() -> None:
    w = Wallet.from_key(KEY_HEX)
    assert repr(w) == f"Wallet(address={KEY_ADDRESS!r})"
    assert str(w) == KEY_ADDRESS
    _assert_clean(repr(w) + str(w) + format(w) + repr(vars(type(w))))
    assert copy.copy(w) is w and copy.deepcopy({"w": w})["w"] is w
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(w)
    with pytest.raises(AttributeError):
        w._key = b"x"  # type: ignore[misc]
    assert not hasattr(w, "__dict__")


def test_checksum_address_eip55() -> None:
    # EIP-55 spec examples.
    for addr in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert checksum_address(addr.lower()) == addr


def _render(exc: BaseException) -> str:
    """Every rendering we might produce: message, repr, chained tracebacks with locals."""
    parts = [str(exc), repr(exc)]
    parts.extend(traceback.TracebackException.from_exception(exc, capture_locals=True).format(chain=True))
    return "".join(parts)


def _boom_module(kind: str) -> Any:
    """A stand-in for coincurve whose key object fails *with the key in its message*."""

    class PrivateKey:
        def __init__(self, secret: bytes) -> None:
            self.secret = secret

        def sign_recoverable(self, digest: bytes, hasher: Any = None) -> bytes:
            raise ValueError(f"libsecp256k1 failure for key {self.secret.hex()}")

    return types.SimpleNamespace(PrivateKey=PrivateKey, PublicKey=object)


@pytest.mark.parametrize("backend_name", ["native", "eth-account"])
def test_key_never_leaks_while_signing_failing_and_raising(backend_name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hyperliquid_client")
    bus = EventBus()
    seen: list[Any] = []
    bus.subscribe("*", seen.append)
    select_backend(backend_name, events=bus)
    wallet = Wallet.from_key("0x" + KEY_HEX)
    renders: list[str] = []

    # 1. signing succeeds (L1 and user-signed), and a record mentioning the wallet is logged
    sig = sign_l1_action(wallet, ORDER, 1, is_mainnet=True, backend=backend_name)
    assert recover_address(l1_digest(ORDER, 1, is_mainnet=True), sig) == wallet.address
    primary_type, fields = user_signed_type("usdSend")
    action = {
        "type": "usdSend",
        "signatureChainId": "0x66eee",
        "hyperliquidChain": "Testnet",
        "destination": "0x" + "11" * 20,
        "amount": "1",
        "time": 1,
    }
    sign_user_signed_action(wallet, action, primary_type=primary_type, fields=fields, backend=backend_name)
    logging.getLogger("hyperliquid_client.signing").info("signed with %r", wallet)

    # 2. bad inputs fail before the key is touched
    for bad_call in (
        lambda: sign_l1_action(wallet, {"type": "order", "p": 1.5}, 1, is_mainnet=True, backend=backend_name),
        lambda: sign_l1_action(wallet, ORDER, -1, is_mainnet=True, backend=backend_name),
        lambda: sign_user_signed_action(
            wallet, {**action, "time": "x"}, primary_type=primary_type, fields=fields, backend=backend_name
        ),
        lambda: Wallet.from_key("0x" + KEY_HEX[:-1] + "g"),
    ):
        with pytest.raises(InvalidInputError) as info:
            bad_call()
        renders.append(_render(info.value))
        logging.getLogger("hyperliquid_client.signing").error("failed", exc_info=info.value)

    # 3. the signing primitive itself raises, with the key in the third-party message
    fresh = Wallet.from_key("0x" + KEY_HEX)
    if backend_name == "native":
        backend: Any = NativeBackend(coincurve=_boom_module("native"))
    else:
        backend = EthAccountBackend()
        backend._account_cls = types.SimpleNamespace(from_key=lambda k: _boom_module("x").PrivateKey(k))
    fresh._handles.clear()
    with pytest.raises(SigningError) as info:
        sign_l1_action(fresh, ORDER, 1, is_mainnet=True, backend=backend)
    assert info.value.__cause__ is None and info.value.__context__ is None
    renders.append(_render(info.value))
    logging.getLogger("hyperliquid_client").exception("signing failed", exc_info=info.value)
    fresh._handles.clear()

    # 4. a record that *does* contain the key (someone's mistake) is scrubbed by the filter
    logging.getLogger("hyperliquid_client").warning("oops %s", KEY_HEX)

    assert caplog.records, "nothing was logged: the test would prove nothing"
    log_text = "\n".join(
        r.getMessage() + (r.exc_text or "") + "".join(traceback.format_exception(*r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    _assert_clean(log_text)
    _assert_clean(caplog.text)
    assert "[redacted private key]" in caplog.text
    for text in renders:
        _assert_clean(text)
    _assert_clean(repr([e.fields for e in seen]))
    assert seen and seen[0].name == "signing.backend"


def test_redaction_filter_case_insensitive() -> None:
    w = Wallet.from_key(KEY_HEX)
    record = logging.LogRecord(
        "hyperliquid_client.x", logging.INFO, __file__, 1, "k=%s", ("0x" + KEY_HEX.upper(),), None
    )
    record.hl = {"key": KEY_HEX}
    assert KeyRedactionFilter().filter(record)
    assert KEY_HEX not in record.getMessage().lower()
    assert record.hl["key"] == "[redacted private key]"
    assert w.address  # keep the wallet alive until here


def test_signature_wire_forms() -> None:
    sig = Signature.from_wire({"r": "0x" + "00" + "ab" * 31, "s": "0X" + "CD" * 32, "v": 1})
    assert sig == Signature("0x" + "ab" * 31, "0x" + "cd" * 32, 28)
    assert Signature.from_bytes(sig.to_bytes()) == sig
    assert sig.to_wire() == {"r": sig.r, "s": sig.s, "v": 28}
    assert list(sig.to_wire()) == ["r", "s", "v"]
    for bad in (
        {"r": "0x01", "s": "0x1", "v": 27},
        {"r": "0xAB", "s": "0x1", "v": 27},
        {"r": "0x1", "s": "0x1", "v": 29},
    ):
        with pytest.raises(InvalidInputError):
            Signature(**bad)
    with pytest.raises(InvalidInputError):
        Signature.from_wire({"r": "0x" + "1" * 65, "s": "0x1", "v": 27})


def test_redaction_survives_collection_of_an_equal_wallet() -> None:
    import gc

    old = Wallet.from_key(KEY_HEX)
    live = Wallet.from_key(KEY_HEX)  # equal to ``old`` (same address)
    del old
    gc.collect()
    record = logging.LogRecord("hyperliquid_client", logging.INFO, __file__, 1, "k=%s", (KEY_HEX,), None)
    KeyRedactionFilter().filter(record)
    assert KEY_HEX not in record.getMessage()
    assert live.address
