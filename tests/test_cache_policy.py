"""Cache keys of info requests and the default lifetimes the metadata service uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from hyperliquid_client.generated.registry import ENDPOINTS
from hyperliquid_client.runtime.cache import DEFAULT_TTL_BY_KIND, info_cache_key

SPEC = Path(__file__).resolve().parents[1] / "spec" / "info"


def test_info_cache_key_is_canonical() -> None:
    assert info_cache_key({"type": "meta"}) == info_cache_key({"type": "meta", "dex": ""})
    assert info_cache_key({"type": "meta"}) == info_cache_key({"dex": None, "type": "meta"})
    assert info_cache_key({"type": "meta", "dex": "xyz"}) != info_cache_key({"type": "meta"})
    assert info_cache_key({"coin": "BTC", "type": "l2Book"}) == info_cache_key({"type": "l2Book", "coin": "BTC"})
    hash(info_cache_key({"type": "candleSnapshot", "req": {"coin": "BTC", "interval": "1m"}}))


def test_metadata_lifetime_matches_the_spec() -> None:
    meta = yaml.safe_load((SPEC / "meta.yaml").read_text())
    assert DEFAULT_TTL_BY_KIND["metadata"] == meta["cache"]["ttl"]
    assert ENDPOINTS["info.meta"].cache_ttl == meta["cache"]["ttl"]


def test_user_data_is_never_cached_by_the_spec() -> None:
    for endpoint in ENDPOINTS.values():
        if endpoint.context == "info" and any(p.name == "user" for p in endpoint.params):
            assert endpoint.cache_ttl is None, endpoint.wire
