"""Backend selection: auto / native / eth-account, the env var, and a missing native binding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client.runtime.errors import ConfigError
from hyperliquid_client.runtime.events import CATALOGUE, EventBus
from hyperliquid_client.runtime.signing import (
    BACKEND_ENV_VAR,
    EthAccountBackend,
    NativeBackend,
    select_backend,
)
from hyperliquid_client.runtime.signing import backends as backends_mod

ROOT = Path(__file__).resolve().parents[1]

# One SDK vector (tests/signing_test.py replica): key, action, expected signature.
KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ACTION = {"type": "dummy", "num": 100000000000}
EXPECTED = {
    "r": "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
    "s": "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8",
    "v": 27,
}


def test_explicit_choices() -> None:
    assert isinstance(select_backend("native"), NativeBackend)
    assert isinstance(select_backend("eth-account"), EthAccountBackend)
    assert isinstance(select_backend("auto"), NativeBackend)  # coincurve is installed here
    assert select_backend("native") is select_backend("native")


def test_env_var_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV_VAR, "eth-account")
    assert select_backend().name == "eth-account"
    monkeypatch.setenv(BACKEND_ENV_VAR, "native")
    assert select_backend().name == "native"
    monkeypatch.setenv(BACKEND_ENV_VAR, "")
    assert select_backend().name == "native"
    monkeypatch.setenv(BACKEND_ENV_VAR, "fastest")
    with pytest.raises(ConfigError) as info:
        select_backend()
    assert info.value.setting == BACKEND_ENV_VAR
    with pytest.raises(ConfigError):
        select_backend("openssl")


def test_event_reports_choice() -> None:
    assert "signing.backend" in CATALOGUE
    bus = EventBus()
    seen: list[Any] = []
    bus.subscribe("signing.*", seen.append)
    select_backend("eth-account", events=bus)
    select_backend("auto", events=bus)
    assert [(e.name, e["backend"]) for e in seen] == [("signing.backend", "eth-account"), ("signing.backend", "native")]
    assert all(e["reason"] for e in seen)


def _run(code: str, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV_VAR}
    env.update(env_extra or {})
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


PRELUDE = """
import json, logging, sys
sys.modules["coincurve"] = None          # simulate: native binding not importable
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)
logging.getLogger("hyperliquid_client").addHandler(Keep())
logging.getLogger("hyperliquid_client").setLevel(logging.DEBUG)
from hyperliquid_client.runtime.errors import NativeBackendUnavailableError
from hyperliquid_client.runtime.events import EventBus
from hyperliquid_client.runtime.signing import Wallet, select_backend, sign_l1_action, recover_address, l1_digest
"""


def test_native_missing_auto_falls_back_with_one_warning() -> None:
    out = _run(
        PRELUDE
        + f"""
bus = EventBus(); events = []
bus.subscribe("signing.backend", lambda e: events.append(dict(e.fields)))
names = [select_backend("auto", events=bus).name, select_backend().name, select_backend("auto").name]
w = Wallet.from_key({KEY!r})
sig = sign_l1_action(w, {ACTION!r}, 0, is_mainnet=True)            # default backend
sig2 = sign_l1_action(w, {ACTION!r}, 0, is_mainnet=True, backend="auto")
try:
    select_backend("native")
    native_error = None
except NativeBackendUnavailableError as exc:
    native_error = str(exc)
warnings = [r for r in records if r.levelno >= logging.WARNING]
print(json.dumps({{
    "names": names, "sig": sig.to_wire(), "sig2": sig2.to_wire(), "native_error": native_error,
    "warnings": [(r.name, r.getMessage()) for r in warnings], "events": events,
    "recovered": recover_address(l1_digest({ACTION!r}, 0, is_mainnet=True), sig), "address": w.address,
    "eth_account_loaded": "eth_account" in sys.modules,
}}))
"""
    )
    assert out["names"] == ["eth-account"] * 3
    assert out["sig"] == EXPECTED and out["sig2"] == EXPECTED
    assert out["recovered"] == out["address"]
    assert len(out["warnings"]) == 1, out["warnings"]
    logger, message = out["warnings"][0]
    assert logger == "hyperliquid_client.signing"
    assert "import of coincurve halted" in message and "pip install 'hyperliquid-client[native]'" in message
    assert out["native_error"] and "import of coincurve halted" in out["native_error"]
    assert "pip install 'hyperliquid-client[native]'" in out["native_error"]
    assert out["events"][0]["backend"] == "eth-account"
    assert "pip install 'hyperliquid-client[native]'" in out["events"][0]["reason"]


def test_native_forced_by_env_when_missing_is_an_error() -> None:
    out = _run(
        PRELUDE
        + f"""
try:
    sign_l1_action(Wallet.from_key({KEY!r}), {ACTION!r}, 0, is_mainnet=True)
    error = None
except NativeBackendUnavailableError as exc:
    error = str(exc)
print(json.dumps({{"error": error, "warnings": len([r for r in records if r.levelno >= logging.WARNING])}}))
""",
        {BACKEND_ENV_VAR: "native"},
    )
    assert out["error"] and "pip install 'hyperliquid-client[native]'" in out["error"]
    assert out["warnings"] == 0


def test_native_path_does_not_import_eth_account() -> None:
    out = _run(
        f"""
import json, sys
from hyperliquid_client.runtime.signing import Wallet, sign_l1_action, l1_digest, recover_address
w = Wallet.from_key({KEY!r})
sig = sign_l1_action(w, {ACTION!r}, 0, is_mainnet=True, backend="native")
ok = recover_address(l1_digest({ACTION!r}, 0, is_mainnet=True), sig, backend="native") == w.address
print(json.dumps({{"sig": sig.to_wire(), "ok": ok, "eth_account": "eth_account" in sys.modules}}))
"""
    )
    assert out == {"sig": EXPECTED, "ok": True, "eth_account": False}


def test_resolve_backend_rejects_garbage() -> None:
    with pytest.raises(ConfigError):
        backends_mod.resolve_backend(42)  # type: ignore[arg-type]


def test_native_signs_through_libsecp256k1_directly_with_coincurves_own_signatures() -> None:
    # the backend calls libsecp256k1's sign and serialise itself (no wrapper frames): the signatures must be the ones
    # coincurve's sign_recoverable gives (same nonce function), and a coincurve given explicitly keeps its wrapper
    import coincurve

    from hyperliquid_client.runtime.signing import Wallet

    direct, wrapped = NativeBackend(), NativeBackend(coincurve=coincurve)
    assert direct._sign.__qualname__.startswith("_direct_signer")
    assert not wrapped._sign.__qualname__.startswith("_direct_signer")
    wallet = Wallet.from_key(KEY)
    key = coincurve.PrivateKey(bytes.fromhex(KEY[2:]))
    for i in range(64):
        digest = bytes((i * 7 + j) % 256 for j in range(32))
        raw = key.sign_recoverable(digest, hasher=None)
        assert direct._sign(key, digest).to_bytes() == raw
        assert direct._sign(key, digest) == backends_mod._from_compact(raw)
        assert direct.sign_digest(wallet, digest) == wrapped.sign_digest(wallet, digest)
    assert direct.sign_l1_action(wallet, ACTION, 0, None, None, True).to_wire() == EXPECTED
    # a binding that cannot be found, or a key type that does not sign as the wrapper does: the wrapper signs
    import types

    assert backends_mod._direct_signer(types.SimpleNamespace(__name__="no_such_binding")) is None

    class Skewed(coincurve.PrivateKey):
        def sign_recoverable(self, message: bytes, hasher: Any = None, custom_nonce: Any = None) -> bytes:
            return bytes(65)  # not what libsecp256k1's calls give

    assert backends_mod._direct_signer(types.SimpleNamespace(__name__="coincurve", PrivateKey=Skewed)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"type": "order", "orders": [{"a": 4, "b": True, "p": "1670.1", "t": {"limit": {"tif": "Gtc"}}}]}, None),
        ({"a": [1, "x", None, False, 1.5, (2, [3.0])]}, None),
        ({"a": {"b": [{"c": float("nan")}]}}, ".a.b[0].c: float nan"),
        ({"a": [{"b": {1: "non-string key"}}]}, ".a[0].b[1] (a map key that is not a string)"),
        ({"a": [{"b": {"c": {1, 2}}}]}, ".a[0].b.c: set {1, 2}"),
        ({"a": float("inf")}, ".a: float inf"),
        ([{"deep": [[[[{"x": b"x"}]]]]}], "[0].deep[0][0][0][0].x: bytes b'x'"),
        ({"a": [True, {"b": Decimal("1")}]}, ".a[1].b: Decimal Decimal('1')"),
        ({}, None),
    ],
)
def test_the_json_check_the_signer_check_runs_on_every_order_names_what_json_would_change(
    value: Any, problem: str | None
) -> None:
    # verify_signatures='once' sends a body of a proven kind unrecovered only when this finds nothing
    from hyperliquid_client.runtime.signing import check

    assert check.not_json(value) == problem


def test_the_native_fused_hashing_without_keccak_frames_signs_as_the_plain_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The native backend's L1 hashing through the hash object directly (pysha3) gives the signature the plain
    keccak256 path gives, and the digest l1_digest computes, for random actions, nonces, vaults and expiries."""
    import random

    from hyperliquid_client.runtime.signing import Wallet, l1_digest

    if backends_mod.KECCAK_NEW is None:
        pytest.skip("the Keccak implementation in use has no hash object to call directly (pysha3 not installed)")
    backend = backends_mod.NativeBackend()
    wallet = Wallet.from_key(KEY)
    rng = random.Random(7)
    for _ in range(200):
        action = {"type": "order", "orders": [{"a": rng.randrange(200), "p": str(rng.random())}], "n": rng.randrange(9)}
        nonce = rng.randrange(2**63)
        vault = rng.choice([None, "0x" + "ab" * 20])
        expires = rng.choice([None, rng.randrange(2**40)])
        mainnet = rng.random() < 0.5
        direct = backend.sign_l1_action(wallet, action, nonce, vault, expires, mainnet)
        with monkeypatch.context() as m:
            m.setattr(backends_mod, "KECCAK_NEW", None)
            plain = backend.sign_l1_action(wallet, action, nonce, vault, expires, mainnet)
        assert direct == plain
        digest = l1_digest(action, nonce, vault_address=vault, expires_after=expires, is_mainnet=mainnet)
        assert backend.recover_address(digest, direct) == wallet.address
