"""Property tests: both backends agree on random keys and actions; recovery gives the signer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.signing import (
    USER_SIGNED_TYPES,
    Wallet,
    l1_digest,
    recover_address,
    sign_l1_action,
    sign_user_signed_action,
    user_signed_digest,
)
from hyperliquid_client.runtime.signing.signature import SECP256K1_N

keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1),
    st.text(max_size=40),
    addresses,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
actions = st.builds(
    lambda t, rest: {"type": t, **rest},
    st.text(min_size=1, max_size=12),
    st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "type"), values, max_size=6),
)
u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    key=keys,
    action=actions,
    nonce=u64,
    vault=st.none() | addresses,
    expires=st.none() | u64,
    is_mainnet=st.booleans(),
)
def test_l1_backends_agree_and_recover(
    key: bytes, action: dict[str, Any], nonce: int, vault: str | None, expires: int | None, is_mainnet: bool
) -> None:
    wallet = Wallet.from_key(key)
    args = {"vault_address": vault, "expires_after": expires, "is_mainnet": is_mainnet}
    native = sign_l1_action(wallet, action, nonce, **args, backend="native")
    baseline = sign_l1_action(wallet, action, nonce, **args, backend="eth-account")
    assert native == baseline
    assert native.is_low_s()
    digest = l1_digest(action, nonce, **args)
    assert recover_address(digest, native, backend="native") == wallet.address
    assert recover_address(digest, native, backend="eth-account") == wallet.address


def _field_value(typ: str) -> st.SearchStrategy[Any]:
    if typ == "string":
        return st.text(max_size=30)
    if typ == "address":
        return addresses
    if typ == "bool":
        return st.booleans()
    if typ == "bytes":
        return st.binary(max_size=40).map(lambda b: "0x" + b.hex())
    if typ.startswith("uint"):
        return st.integers(min_value=0, max_value=(1 << int(typ[4:])) - 1)
    raise AssertionError(typ)


@st.composite
def user_actions(draw: st.DrawFn) -> tuple[str, tuple[tuple[str, str], ...], dict[str, Any]]:
    action_type = draw(st.sampled_from(sorted(USER_SIGNED_TYPES)))
    primary_type, fields = USER_SIGNED_TYPES[action_type]
    action: dict[str, Any] = {
        "type": action_type,
        "signatureChainId": hex(draw(st.integers(min_value=1, max_value=(1 << 64) - 1))),
    }
    for name, typ in fields:
        action[name] = draw(
            st.sampled_from(["Mainnet", "Testnet"]) if name == "hyperliquidChain" else _field_value(typ)
        )
    return primary_type, fields, action


@SETTINGS
@given(key=keys, case=user_actions())
def test_user_signed_backends_agree_and_recover(
    key: bytes, case: tuple[str, tuple[tuple[str, str], ...], dict[str, Any]]
) -> None:
    primary_type, fields, action = case
    wallet = Wallet.from_key(key)
    native = sign_user_signed_action(wallet, action, primary_type=primary_type, fields=fields, backend="native")
    baseline = sign_user_signed_action(wallet, action, primary_type=primary_type, fields=fields, backend="eth-account")
    assert native == baseline
    digest = user_signed_digest(action, primary_type=primary_type, fields=fields)
    assert recover_address(digest, baseline, backend="native") == wallet.address
    assert recover_address(digest, baseline, backend="eth-account") == wallet.address


def test_user_signed_values_of_str_and_int_subclasses_sign_as_their_plain_values() -> None:
    # JSON carries a str / int subclass as the plain value, which is what the exchange hashes: so does the signer
    from enum import IntEnum

    class S(str):
        def __str__(self) -> str:  # (what a subclass's own methods say is not what is hashed)
            return "other"

    class Time(IntEnum):
        T = 1_700_000_000_000

    fields = (("hyperliquidChain", "string"), ("destination", "string"), ("amount", "string"), ("time", "uint64"))
    plain = {
        "hyperliquidChain": "Testnet",
        "destination": "0x" + "12" * 20,
        "amount": "1.5",
        "time": 1_700_000_000_000,
        "signatureChainId": "0x66eee",
    }
    odd = {**plain, "destination": S(plain["destination"]), "amount": S("1.5"), "time": Time.T}
    wallet = Wallet.from_key(bytes(range(1, 33)))
    for backend in ("native", "eth-account"):
        want = sign_user_signed_action(wallet, plain, primary_type="UsdSend", fields=fields, backend=backend)
        assert sign_user_signed_action(wallet, odd, primary_type="UsdSend", fields=fields, backend=backend) == want
    assert user_signed_digest(odd, primary_type="UsdSend", fields=fields) == user_signed_digest(
        plain, primary_type="UsdSend", fields=fields
    )
    with pytest.raises(InvalidInputError, match=r"action\.time"):  # a bool is not an integer here
        user_signed_digest({**plain, "time": True}, primary_type="UsdSend", fields=fields)
