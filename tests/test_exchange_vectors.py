"""Every public signing vector, built through the public generated methods and posted for real.

For each vector of ``signing_l1.json``, ``signing_user.json`` and ``signing_multisig.json`` (from
``$HL_VECTORS_DIR``, default ``tests/data/vectors``) the action is built by
``ExchangeActions(sender).<method>(**params)`` — the parameters read back from the vector's action
through the spec's action mapping — signed by an :class:`ActionSender` configured with the
vector's key, network, vault, ``expiresAfter`` and nonce, and POSTed to a local fake exchange.
The body the server received is compared with the vector: action bytes (msgpack), signature
r/s/v and the whole request body.  Multi-sig vectors are also rebuilt from their inner signers'
keys through :meth:`Exchange.multi_sig`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from hyperliquid_client.generated.exchange import ExchangeActions
from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.cache import TTLCache
from hyperliquid_client.runtime.config import custom_network
from hyperliquid_client.runtime.exchange import ActionSender, Exchange
from hyperliquid_client.runtime.markets import MetadataService
from hyperliquid_client.runtime.registry import key_order_problem
from hyperliquid_client.runtime.results import ExchangeResult
from hyperliquid_client.runtime.signing import NonceManager, Wallet, l1_digest, recover_address
from hyperliquid_client.runtime.transport import HttpTransport
from hyperliquid_client.testing import FakeExchange, ok_answer
from tests.datasets import VECTORS_DIR

FILES = ("signing_l1.json", "signing_user.json", "signing_multisig.json")


def _load() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in FILES:
        data = json.loads((VECTORS_DIR / name).read_text())
        assert data["count"] == len(data["vectors"]), name
        out.extend(data["vectors"])
    return out


ALL_VECTORS = _load()
# Vectors of kind "generic" are synthetic actions for msgpack coverage, not exchange actions: they
# belong to the signing layer (tests/test_signing_vectors.py) and are tested below at that level.
GENERIC = [v for v in ALL_VECTORS if v["kind"] == "generic"]
ACTION_VECTORS = [v for v in ALL_VECTORS if v["kind"] != "generic"]
MULTISIG = [v for v in ALL_VECTORS if v["signing"] == "multi_sig"]


def params_from_action(kind: str, action: dict[str, Any]) -> dict[str, Any]:
    """The generated method's keyword arguments that rebuild ``action`` (inverse of the spec mapping)."""
    endpoint = ENDPOINTS[f"exchange.{kind}"]
    merged = [dict(sub[1]) for key, sub in endpoint.action_shape[1] if key == "*"]
    kwargs: dict[str, Any] = {}
    for p in endpoint.params:
        if p.wire in action:
            kwargs[p.name] = action[p.wire]
        elif merged and not any(q.wire in action for q in endpoint.params if q is p):
            tags = [tag for tag in merged[0] if tag in action]
            assert len(tags) == 1, f"{kind}: expected one variant key, got {tags}"
            kwargs[p.name] = {tags[0]: action[tags[0]]}
        elif p.required:
            raise AssertionError(f"{kind}: vector action lacks required key {p.wire!r}")
    return kwargs


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeExchange]:
    with FakeExchange(seed=False) as fx:
        fx.set_exchange_handler(ok_answer)
        yield fx


@pytest.fixture(scope="module")
def transport() -> Iterator[HttpTransport]:
    with HttpTransport() as t:
        yield t


def sender_for(vector: dict[str, Any], fx: FakeExchange, transport: HttpTransport) -> ActionSender:
    nonce = vector["nonce"]
    network = custom_network(fx.http_url, is_mainnet=vector["is_mainnet"])
    return ActionSender(
        transport,
        network,
        wallet=Wallet.from_key(vector["private_key"]),
        nonces=NonceManager(clock=lambda: nonce),
        signature_chain_id=vector.get("signature_chain_id") or "0x66eee",
        verify_signatures=True,
    )


def posted_body(fx: FakeExchange) -> tuple[dict[str, Any], bytes]:
    posts = fx.requests_for("/exchange")
    assert len(posts) == 1, f"expected exactly one POST, got {len(posts)}"
    return posts[0].body, posts[0].raw


def check_body(vector: dict[str, Any], body: dict[str, Any]) -> None:
    expected = vector["request_body"]
    assert body["signature"] == vector["signature"], "signature r/s/v"
    assert body["nonce"] == vector["nonce"]
    assert body["vaultAddress"] == expected["vaultAddress"]
    assert body["expiresAfter"] == expected["expiresAfter"]
    assert body == expected, "request body"
    if vector["signing"] == "user_signed":
        # An EIP-712 signature does not depend on JSON key order (checked above through r/s/v): the
        # official SDK posts its own order, we post the spec's wire order (the TypeScript SDK's, and
        # the bytes a multi-sig hashes).
        assert set(body["action"]) == set(expected["action"])
        endpoint = ENDPOINTS[f"exchange.{vector['kind']}"]
        assert key_order_problem(endpoint.action_shape, body["action"]) is None, "action key order"
    else:
        assert list(body["action"]) == list(expected["action"]), "action key order"
    if vector["signing"] == "l1":
        assert msgpack.packb(body["action"]).hex() == vector["msgpack_hex"], "action msgpack bytes"
    if vector["signing"] == "multi_sig":
        without_type = {k: v for k, v in body["action"].items() if k != "type"}
        assert msgpack.packb(without_type).hex() == vector["msgpack_hex"], "multi-sig msgpack bytes"


@pytest.mark.parametrize("vector", ACTION_VECTORS, ids=[v["id"] for v in ACTION_VECTORS])
def test_vector_through_generated_method(vector: dict[str, Any], fake: FakeExchange, transport: HttpTransport) -> None:
    fake.clear_requests()
    kind = vector["kind"]
    endpoint = ENDPOINTS[f"exchange.{kind}"]
    sender = sender_for(vector, fake, transport)
    kwargs = params_from_action(kind, vector["action"])
    if vector["vault_address"] is not None:
        assert endpoint.vault, f"{kind} has a vault in the vector but the spec says it is never hashed with one"
        kwargs["vault_address"] = vector["vault_address"]
    if vector["expires_after"] is not None:
        kwargs["expires_after"] = vector["expires_after"]
    method = getattr(ExchangeActions(sender), endpoint.name)
    result = method(**kwargs)
    assert isinstance(result, ExchangeResult) and result.nonce == vector["nonce"]
    body, raw = posted_body(fake)
    check_body(vector, body)
    assert b"private" not in raw and vector["private_key"][2:].encode() not in raw


@pytest.mark.parametrize("vector", MULTISIG, ids=[v["id"] for v in MULTISIG])
def test_multisig_vector_from_inner_signers(
    vector: dict[str, Any], fake: FakeExchange, transport: HttpTransport
) -> None:
    """The high-level multi_sig signs the inner action with each signer's key and wraps it."""
    multi_sig_through_exchange(vector, fake, transport, vector["inner_action"])


def multi_sig_through_exchange(
    vector: dict[str, Any], fake: FakeExchange, transport: HttpTransport, inner: dict[str, Any]
) -> None:
    """``Exchange.multi_sig`` of ``inner`` with the vector's signers: the posted body must be the vector's."""
    fake.clear_requests()
    markets = MetadataService(TTLCache(), lambda body: (_ for _ in ()).throw(AssertionError("no metadata needed")))
    exchange = Exchange(sender_for(vector, fake, transport), markets=markets, info=None)
    exchange.multi_sig(
        vector["multi_sig_user"],
        inner,
        signers=[Wallet.from_key(s["private_key"]) for s in vector["inner_signers"]],
        nonce=vector["nonce"],
        vault_address=vector["vault_address"],
        expires_after=vector["expires_after"],
    )
    body, _ = posted_body(fake)
    assert body["action"]["signatures"] == [s["signature"] for s in vector["inner_signers"]]
    check_body(vector, body)


@pytest.mark.parametrize("vector", GENERIC, ids=[v["id"] for v in GENERIC])
def test_generic_vectors_at_signing_level(vector: dict[str, Any]) -> None:
    """Generic (non-exchange) actions: the digest our server-side check recomputes recovers the signer."""
    digest = l1_digest(
        vector["action"],
        vector["nonce"],
        vault_address=vector["vault_address"],
        expires_after=vector["expires_after"],
        is_mainnet=vector["is_mainnet"],
    )
    assert "0x" + digest.hex() == vector["eip712_digest_hex"]
    assert recover_address(digest, vector["signature"]) == vector["address"].lower()


def test_every_vector_kind_is_covered() -> None:
    kinds = {v["kind"] for v in ACTION_VECTORS}
    assert all(f"exchange.{k}" in ENDPOINTS for k in kinds), kinds - {e.split(".", 1)[1] for e in ENDPOINTS}
    counts = [json.loads((VECTORS_DIR / name).read_text())["count"] for name in FILES]
    assert len(ACTION_VECTORS) + len(GENERIC) == sum(counts) > 0  # every vector is one or the other


@pytest.mark.parametrize("vector", MULTISIG, ids=[v["id"] for v in MULTISIG])
def test_multisig_inner_signatures_collected_offline(
    vector: dict[str, Any], fake: FakeExchange, transport: HttpTransport
) -> None:
    """sign_multi_sig_inner reproduces each inner signer's signature; multi_sig accepts them as given."""
    fake.clear_requests()
    sender = sender_for(vector, fake, transport)
    markets = MetadataService(TTLCache(), lambda body: (_ for _ in ()).throw(AssertionError("no metadata needed")))
    exchange = Exchange(sender, markets=markets, info=None)
    collected = []
    for inner in vector["inner_signers"]:
        sig = exchange.sign_multi_sig_inner(
            Wallet.from_key(inner["private_key"]),
            vector["inner_action"],
            multi_sig_user=vector["multi_sig_user"],
            outer_signer=vector["outer_signer"],
            nonce=vector["nonce"],
            vault_address=vector["vault_address"],
            expires_after=vector["expires_after"],
        )
        assert sig.to_wire() == inner["signature"]
        collected.append(sig)
    exchange.multi_sig(
        vector["multi_sig_user"],
        vector["inner_action"],
        signatures=collected,
        nonce=vector["nonce"],
        vault_address=vector["vault_address"],
        expires_after=vector["expires_after"],
    )
    check_body(vector, posted_body(fake)[0])


@pytest.mark.parametrize("vector", MULTISIG, ids=[v["id"] for v in MULTISIG])
def test_multisig_vector_through_build_action_and_multi_sig(
    vector: dict[str, Any], fake: FakeExchange, transport: HttpTransport
) -> None:
    """As docs/exchange.md shows: the inner action from ``build_action`` (its wire-level parameters read
    back from the vector), then ``multi_sig`` with the inner signers' wallets; the posted body, the
    multi-sig msgpack bytes and every signature must be the vector's."""
    kind = vector["inner_action_type"]
    inner_endpoint = ENDPOINTS[f"exchange.{kind}"]
    given = {k: v for k, v in vector["inner_action"].items() if k != inner_endpoint.nonce_key}
    if kind == "userSetAbstraction":
        given["abstraction"] = vector["inner_action"]["abstraction"]  # signed with the long name
    inner = Exchange.build_action(inner_endpoint.name, **params_from_action(kind, given))
    assert list(inner) == list(vector["inner_action"]), "inner action in the spec's (hashed) key order"
    multi_sig_through_exchange(vector, fake, transport, inner)


def test_the_multisig_vectors_are_present_and_of_known_inner_kinds() -> None:
    """The multi-sig tests above are not vacuous: the set has multi-sig vectors, each wrapping an action the
    spec knows, signed as L1 or user-signed."""
    assert MULTISIG, "the vector set has no multi-sig vectors"
    for v in MULTISIG:
        assert v["inner_kind"] in ("l1", "user_signed") and f"exchange.{v['inner_action_type']}" in ENDPOINTS, v["id"]
