"""Info cache policy: kinds and TTLs, spec overrides, canonical keys, InfoCache over a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from test_cache_support import ScriptedInfoServer, async_fetcher, real_payloads, sync_fetcher

from hyperliquid.runtime.cache import (
    DEFAULT_TTL_BY_KIND,
    INFO_CACHE_POLICIES,
    CachePolicy,
    InfoCache,
    TTLCache,
    info_cache_key,
    policy_for,
)

SPEC = Path(__file__).resolve().parents[1] / "spec" / "info"


def test_builtin_table_matches_the_spec_files() -> None:
    """The built-in fallback table carries exactly the TTLs of spec/info/*.yaml ``cache:`` keys."""
    from_spec = {}
    for path in SPEC.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("cache"):
            from_spec[data.get("wire", path.stem)] = float(data["cache"]["ttl"])
    assert from_spec, "no spec files with a cache policy found"
    assert {t: p.ttl for t, p in INFO_CACHE_POLICIES.items()} == from_spec


def test_builtin_policies_by_kind() -> None:
    assert policy_for("meta") == CachePolicy("metadata", DEFAULT_TTL_BY_KIND["metadata"])
    assert policy_for("spotMeta").cached and policy_for("perpDexs").cached
    assert policy_for("allMids").kind == "prices"
    assert 0 < policy_for("l2Book").ttl < policy_for("allMids").ttl < policy_for("meta").ttl
    for live in ("clearinghouseState", "userFills", "openOrders", "somethingNew"):
        assert not policy_for(live).cached


def test_spec_policy_overrides_and_validation() -> None:
    assert policy_for("l2Book", {"kind": "prices"}) == CachePolicy("prices", DEFAULT_TTL_BY_KIND["prices"])
    assert policy_for("meta", {"ttl": 5}) == CachePolicy("spec", 5.0)
    assert policy_for("meta", {"kind": "user"}).cached is False
    assert CachePolicy.from_ttl(None) == CachePolicy("spec", 0.0)
    for bad in ({"ttl": -1}, {"ttl": "10"}, {"kind": "forever"}, {"ttl": 1, "extra": 2}, ["ttl"], {}):
        with pytest.raises(ValueError):
            CachePolicy.from_spec(bad)  # type: ignore[arg-type]


def test_info_cache_key_is_canonical() -> None:
    assert info_cache_key({"type": "meta"}) == info_cache_key({"type": "meta", "dex": ""})
    assert info_cache_key({"type": "meta"}) == info_cache_key({"dex": None, "type": "meta"})
    assert info_cache_key({"type": "meta", "dex": "xyz"}) != info_cache_key({"type": "meta"})
    assert info_cache_key({"coin": "BTC", "type": "l2Book"}) == info_cache_key({"type": "l2Book", "coin": "BTC"})
    hash(info_cache_key({"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1m"}}))


def test_info_cache_applies_policy_against_server() -> None:
    with ScriptedInfoServer() as srv:
        srv.serve(real_payloads())
        srv.set("clearinghouseState", ("json", {"withdrawable": "1.0"}))
        fetch = sync_fetcher(srv.url)
        info = InfoCache(TTLCache())
        for _ in range(3):
            assert info.call({"type": "meta"}, fetch)["universe"][0]["name"] == "BTC"
            info.call({"type": "clearinghouseState", "user": "0x" + "0" * 40}, fetch)
        assert srv.count("meta") == 1
        assert srv.count("clearinghouseState") == 3
        overridden = InfoCache(TTLCache(), {"meta": None, "clearinghouseState": 30})
        for _ in range(2):
            overridden.call({"type": "meta"}, fetch)
            overridden.call({"type": "clearinghouseState", "user": "0x" + "0" * 40}, fetch)
        assert srv.count("meta") == 3
        assert srv.count("clearinghouseState") == 4
        only_spec = InfoCache(TTLCache(), {"spotMeta": 60.0}, replace=True)
        only_spec.call({"type": "meta"}, fetch)
        assert srv.count("meta") == 4 and not only_spec.policy("meta").cached


async def test_async_info_cache_single_flight() -> None:
    with ScriptedInfoServer() as srv:
        srv.set("allMids", ("delay", 0.1, ("json", real_payloads()["allMids"])))
        fetch = async_fetcher(srv.url)
        info = InfoCache(TTLCache())
        results = await asyncio.gather(*(info.acall({"type": "allMids"}, fetch) for _ in range(50)))
        assert all(r == results[0] for r in results)
        assert srv.count("allMids") == 1
