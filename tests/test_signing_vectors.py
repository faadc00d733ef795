"""Every signing vector (L1, user-signed, multi-sig) with both backends, byte for byte.

The directory comes from ``HL_VECTORS_DIR`` when set (same format, e.g. a second set generated the
same way; see ``tests/data/vectors/PROVENANCE.md``),
else ``tests/data/vectors``.  A missing file or a vector this code cannot handle
fails; nothing is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hyperliquid_client.runtime.signing import (
    Signature,
    Wallet,
    action_hash,
    action_msgpack,
    build_multi_sig_action,
    eip712,
    l1_digest,
    multi_sig_digest,
    multi_sig_inner_l1_digest,
    multi_sig_inner_user_signed_digest,
    multisig,
    recover_address,
    select_backend,
    sign_l1_action,
    sign_multi_sig_action,
    sign_multi_sig_inner_l1,
    sign_multi_sig_inner_user_signed,
    sign_user_signed_action,
    user_signed_digest,
    user_signed_type,
)
from tests.datasets import VECTORS_DIR

ROOT = Path(__file__).resolve().parents[1]
SIGNING_FILES = ("signing_l1.json", "signing_user.json", "signing_multisig.json")
BACKENDS = ("native", "eth-account")


def _cases() -> list[Any]:
    cases: list[Any] = []
    for name in SIGNING_FILES:
        try:
            vectors = json.loads((VECTORS_DIR / name).read_text())["vectors"]
        except Exception as exc:  # reported as a failing case, never skipped
            cases.append(pytest.param(f"cannot read {VECTORS_DIR / name}: {exc!r}", id=f"{name}-unreadable"))
            continue
        if not vectors:
            cases.append(pytest.param(f"{VECTORS_DIR / name} has no vectors", id=f"{name}-empty"))
        cases.extend(pytest.param(v, id=v.get("id", f"{name}-{i}")) for i, v in enumerate(vectors))
    return cases


CASES = _cases()


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _fields(typed: dict[str, Any], primary_type: str) -> list[tuple[str, str]]:
    return [(f["name"], f["type"]) for f in typed["types"][primary_type]]


def _check_l1(v: dict[str, Any], backend: str) -> None:
    wallet = Wallet.from_key(v["private_key"])
    assert wallet.address == v["address"].lower()
    assert wallet.checksum_address == v["address"]
    assert action_msgpack(v["action"]).hex() == v["msgpack_hex"]
    assert _hex(action_hash(v["action"], v["nonce"], v["vault_address"], v["expires_after"])) == v["action_hash_hex"]
    assert v["eip712"]["primaryType"] == "Agent"
    assert _hex(eip712.EXCHANGE_DOMAIN_SEPARATOR) == v["domain_separator_hex"]
    assert (
        _hex(eip712.agent_struct_hash(bytes.fromhex(v["action_hash_hex"][2:]), v["is_mainnet"])) == v["struct_hash_hex"]
    )
    digest = l1_digest(
        v["action"],
        v["nonce"],
        vault_address=v["vault_address"],
        expires_after=v["expires_after"],
        is_mainnet=v["is_mainnet"],
    )
    assert _hex(digest) == v["eip712_digest_hex"]
    sig = sign_l1_action(
        wallet,
        v["action"],
        v["nonce"],
        vault_address=v["vault_address"],
        expires_after=v["expires_after"],
        is_mainnet=v["is_mainnet"],
        backend=backend,
    )
    assert sig.to_wire() == v["signature"]
    assert recover_address(digest, v["signature"], backend=backend) == wallet.address
    body = {"action": v["action"], "nonce": v["nonce"], "signature": sig.to_wire()}
    assert json.dumps(body) == json.dumps({k: v["request_body"][k] for k in ("action", "nonce", "signature")})
    assert v["request_body"]["expiresAfter"] == v["expires_after"]


def _check_user(v: dict[str, Any], backend: str) -> None:
    wallet = Wallet.from_key(v["private_key"])
    assert wallet.address == v["address"].lower()
    typed = v["eip712"]
    primary_type, fields = user_signed_type(v["kind"])  # our table, not the vector's
    assert primary_type == v["primary_type"] == typed["primaryType"]
    assert list(fields) == _fields(typed, primary_type)
    message = typed["message"]  # what was signed (approveAgent without a name: agentName "")
    assert message["signatureChainId"] == v["signature_chain_id"]
    assert int(v["signature_chain_id"], 16) == typed["domain"]["chainId"]
    assert _hex(eip712.domain_separator(typed["domain"])) == v["domain_separator_hex"]
    assert _hex(eip712.struct_hash(primary_type, fields, message)) == v["struct_hash_hex"]
    digest = user_signed_digest(message, primary_type=primary_type, fields=fields)
    assert _hex(digest) == v["eip712_digest_hex"]
    sig = sign_user_signed_action(wallet, message, primary_type=primary_type, fields=fields, backend=backend)
    assert sig.to_wire() == v["signature"]
    assert recover_address(digest, sig, backend=backend) == wallet.address
    assert v["request_body"]["signature"] == sig.to_wire()
    assert v["request_body"]["nonce"] == v["nonce"]


def _check_multi_sig(v: dict[str, Any], backend: str) -> None:
    outer = Wallet.from_key(v["private_key"])
    assert outer.address == v["outer_signer"]
    common = {"multi_sig_user": v["multi_sig_user"], "outer_signer": v["outer_signer"]}
    l1_args = {"vault_address": v["vault_address"], "expires_after": v["expires_after"], "is_mainnet": v["is_mainnet"]}
    signatures: list[Signature] = []
    for inner in v["inner_signers"]:
        signer = Wallet.from_key(inner["private_key"])
        assert signer.address == inner["address"].lower()
        if v["inner_kind"] == "l1":
            envelope = multisig.multi_sig_inner_l1_envelope(v["multi_sig_user"], v["outer_signer"], v["inner_action"])
            assert json.dumps(envelope) == json.dumps(inner["envelope"])
            assert action_msgpack(envelope).hex() == inner["envelope_msgpack_hex"]
            assert (
                _hex(action_hash(envelope, v["nonce"], v["vault_address"], v["expires_after"]))
                == inner["action_hash_hex"]
            )
            digest = multi_sig_inner_l1_digest(v["inner_action"], v["nonce"], **common, **l1_args)
            sig = sign_multi_sig_inner_l1(signer, v["inner_action"], v["nonce"], **common, **l1_args, backend=backend)
        elif v["inner_kind"] == "user_signed":
            primary_type, fields = user_signed_type(v["inner_action"]["type"])
            assert primary_type == inner["primary_type"]
            assert list(eip712.multi_sig_inner_fields(fields)) == _fields(inner["eip712"], primary_type)
            digest = multi_sig_inner_user_signed_digest(
                v["inner_action"], **common, primary_type=primary_type, fields=fields
            )
            sig = sign_multi_sig_inner_user_signed(
                signer, v["inner_action"], **common, primary_type=primary_type, fields=fields, backend=backend
            )
        else:
            pytest.fail(f"{v['id']}: unknown inner_kind {v['inner_kind']!r}")
        assert _hex(digest) == inner["eip712_digest_hex"]
        assert sig.to_wire() == inner["signature"]
        assert recover_address(digest, sig, backend=backend) == signer.address
        signatures.append(sig)

    action = build_multi_sig_action(
        **common, inner_action=v["inner_action"], signatures=signatures, signature_chain_id=v["signature_chain_id"]
    )
    assert json.dumps(action) == json.dumps(v["action"])  # key order included
    without_type = {k: x for k, x in action.items() if k != "type"}
    assert action_msgpack(without_type).hex() == v["msgpack_hex"]
    assert (
        _hex(multisig.multi_sig_action_hash(action, v["nonce"], v["vault_address"], v["expires_after"]))
        == v["action_hash_hex"]
    )
    assert v["eip712"]["primaryType"] == eip712.SEND_MULTI_SIG_PRIMARY_TYPE
    assert list(eip712.SEND_MULTI_SIG_FIELDS) == _fields(v["eip712"], eip712.SEND_MULTI_SIG_PRIMARY_TYPE)
    digest = multi_sig_digest(action, v["nonce"], **l1_args)
    assert _hex(digest) == v["eip712_digest_hex"]
    sig = sign_multi_sig_action(outer, action, v["nonce"], **l1_args, backend=backend)
    assert sig.to_wire() == v["signature"]
    assert recover_address(digest, sig, backend=backend) == outer.address
    assert json.dumps(v["request_body"]["action"]) == json.dumps(action)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("vector", CASES)
def test_signing_vector(vector: Any, backend: str) -> None:
    if isinstance(vector, str):
        pytest.fail(vector)
    select_backend(backend)  # NativeBackendUnavailableError here would fail the test, as it should
    kind = vector.get("signing")
    if kind == "l1":
        _check_l1(vector, backend)
    elif kind == "user_signed":
        _check_user(vector, backend)
    elif kind == "multi_sig":
        _check_multi_sig(vector, backend)
    else:
        pytest.fail(f"{vector.get('id')}: cannot handle signing kind {kind!r}")


def test_vector_directory_is_complete() -> None:
    """Every file of the format is there and non-empty (a truncated set must not pass quietly)."""
    for name in (
        *SIGNING_FILES,
        "float_to_wire.json",
        "float_to_int.json",
        "cloid.json",
        "order_type_to_wire.json",
        "order_request_to_wire.json",
    ):
        data = json.loads((VECTORS_DIR / name).read_text())
        assert data["vectors"], name
        assert data["count"] == len(data["vectors"]), name


def test_reference_constants() -> None:
    """Constants every implementation shares: EIP-712 type hashes and domain separators (values from the
    official SDK's signing), and the SDK's own unit-test action hash."""
    assert _hex(eip712.EIP712_DOMAIN_TYPE_HASH) == "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f"
    assert _hex(eip712.AGENT_TYPE_HASH) == "0x26f05c2f7239b6983075e58321292d77b3aa173d19b27257ac96ab362570f508"
    assert (
        _hex(eip712.EXCHANGE_DOMAIN_SEPARATOR) == "0xd79297fcdf2ffcd4ae223d01edaa2ba214ff8f401d7c9300d995d17c82aa4040"
    )
    seps = {
        0x66EEE: "0xfeb1393ca4412a4ca577bd51d04f0a77033514c602f4d0a11490fb95f7428df6",
        0xA4B1: "0x2f54e643b38c9c2b65cb731aaf11c54f01705ee0cdf45aea16e2ac0a5ce7531a",
        0x1: "0xdb17d1ad595c034a414294c8a640f420ba18e2b7488231f5b97d02780d8e8648",
    }
    for chain_id, expected in seps.items():
        assert _hex(eip712.domain_separator(eip712.user_signed_domain(chain_id))) == expected
    type_hashes = {
        "usdSend": "0xc7410964737e2180e258d649f23f74a49460432fecbd94688103ecc63fb66b4c",
        "spotSend": "0xd6d9472f429b5debb4cc4702fa9925e621498472a979f2581553dd007e273983",
        "withdraw3": "0xdbde952fa0de88158fc71336e44c61876611a2a65553bebd4d52b44a2a000d9a",
        "usdClassTransfer": "0x7a3eebb1997d2e459472886f8cf9829a79b1b00c72a06c9fe015c91299aecd43",
        "sendAsset": "0x5f7cf397b977b076f0fbb993badfc7dd11bd71461a3d076c0940eff5f91ac849",
        "approveAgent": "0x4464abf6148f115d79362d98320081aa2ae8a5c840083cb65820bffc21394378",
        "approveBuilderFee": "0x461684eab6dcdfdd79c6250648d41a1abe3c826ceab6c513fc4f30156f233ad3",
        "tokenDelegate": "0x92b330ec2490ea5985392c914fbd03684ac4860d6423151a947ad3022c58270b",
        "convertToMultiSigUser": "0x4d0883518f17b75d0cf7deec7f0a235936fe6c6b4e3719542068d3c4bca6fbe4",
        "userDexAbstraction": "0xfeed9f6a65f7ac1a3a08d55f10e7a14a9e8287266757c9d353ff995ca29da88e",
        "userSetAbstraction": "0x7275fcf11c2aeeb00370bdc44e472f2b54989a0c88bd1605dbee01a0ba9a0a8b",
    }
    for action_type, expected in type_hashes.items():
        primary_type, fields = user_signed_type(action_type)
        assert _hex(eip712.type_hash(primary_type, fields)) == expected, action_type
    assert (
        _hex(eip712.type_hash(eip712.SEND_MULTI_SIG_PRIMARY_TYPE, eip712.SEND_MULTI_SIG_FIELDS))
        == "0x550fbfa3eb8691c744dccee20fce8ca1bd0f0fb319fdbde7fc68dd16bde14214"
    )
    # The SDK's own unit test: ETH Ioc 0.0147 @ 1670.1, asset 4.
    action = {
        "type": "order",
        "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False, "t": {"limit": {"tif": "Ioc"}}}],
        "grouping": "na",
    }
    assert _hex(action_hash(action, 1677777606040, None, None)) == (
        "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"
    )
