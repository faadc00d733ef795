"""One bot process for the multi-process rate-limit tests (run by tests/test_ratelimit_processes.py).

``python ratelimit_worker.py '<json>'`` with ``mode``:

* ``load``: from ``start_at`` (wall-clock time) for ``seconds``, call ``clearinghouseState`` (weight 2)
  ``rate`` times a second on a fixed schedule, each call waiting for budget at most ``window`` seconds;
  prints JSON counts: ``ok``, ``local`` (refused by the client before sending), ``raised_429``,
  ``responses_429`` (429 answers seen, retries included), ``other``, and the ``rate.redis`` states seen.
* ``nonces``: send ``count`` ``noop`` actions one after the other (each with ``timeout`` seconds); prints the
  nonces and any errors.  With ``pause_at``/``pause_dir``, the slow process: its ``pause_at``-th action stops
  between taking its nonce and sending it (in the synchronous ``exchange.sent`` hook), writes the nonce to
  ``pause_dir/paused`` and goes on once ``pause_dir/go`` exists.  ``shared_window: false`` keeps the nonces
  from Redis but hides the shared in-flight window (what the client did before it had one).
* ``hold``: start ``count`` calls that the fake never answers, print ``ready`` once all are sent, then
  wait to be killed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hyperliquid_client import Client, ClientConfig, RateLimitedError
from hyperliquid_client.runtime.ratelimit import RateLimitConfig
from hyperliquid_client.runtime.signing import NonceSource, Wallet


def main(spec: dict[str, Any]) -> None:
    rate = RateLimitConfig(**spec["rate_config"])
    wallet = Wallet.from_key(spec["key"]) if spec.get("key") else None
    config = ClientConfig(warm=False, rate=rate)
    client = Client("testnet", http_url=spec["http_url"], wallet=wallet, config=config)
    mode = spec["mode"]
    if mode == "load":
        load(client, spec)
    elif mode == "nonces":
        nonces(client, spec)
    elif mode == "hold":
        hold(client, spec)
    client.close()


def load(client: Client, spec: dict[str, Any]) -> None:
    counts = {"ok": 0, "local": 0, "raised_429": 0, "responses_429": 0, "other": 0}
    redis_states: list[str] = []
    lock = threading.Lock()
    client.events.subscribe("rate.redis", lambda e: redis_states.append(e["state"]))

    def on_end(event: Any) -> None:
        if event["status"] == 429:
            with lock:
                counts["responses_429"] += 1

    client.events.subscribe("request.end", on_end)
    user = spec["user"]
    window = spec["rate_config"]["window"]

    def call() -> None:
        try:
            client.info.clearinghouse_state(user, timeout=window)
            key = "ok"
        except RateLimitedError as exc:
            key = "local" if exc.local else "raised_429"
        except Exception as exc:
            key = "other"
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        with lock:
            counts[key] += 1

    per_second = spec["rate"]
    while time.time() < spec["start_at"]:
        time.sleep(0.005)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(int(per_second * spec["seconds"])):
            delay = start + i / per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(call)
    print(json.dumps({**counts, "redis": redis_states}), flush=True)  # noqa: T201 - the result for the test


class WithoutSharedWindow:
    """A nonce source with the nonces of ``inner`` (Redis) but not its shared in-flight window."""

    def __init__(self, inner: NonceSource) -> None:
        self.inner = inner

    def next(self, signer: str) -> int:
        return self.inner.next(signer)

    def observe(self, signer: str, nonce: int) -> None:
        self.inner.observe(signer, nonce)

    def last(self, signer: str) -> int | None:
        return self.inner.last(signer)


def pause_once(client: Client, at: int, folder: Path) -> None:
    """Stop the ``at``-th action after it took its nonce, before it is sent, until ``folder/go`` exists."""
    seen = [0]

    def hook(event: Any) -> None:
        seen[0] += 1
        if seen[0] != at:
            return
        (folder / "paused.tmp").write_text(str(event["nonce"]))
        (folder / "paused.tmp").rename(folder / "paused")
        deadline = time.monotonic() + 300
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    client.events.subscribe("exchange.sent", hook)


def nonces(client: Client, spec: dict[str, Any]) -> None:
    used: list[int] = []
    errors: list[str] = []
    if not spec.get("shared_window", True):
        client.nonces.source = WithoutSharedWindow(client.nonces.source)
    if spec.get("pause_at"):
        pause_once(client, spec["pause_at"], Path(spec["pause_dir"]))
    while time.time() < spec["start_at"]:
        time.sleep(0.005)
    for _ in range(spec["count"]):
        try:
            result = client.exchange.noop(timeout=spec.get("timeout"))
            assert result.nonce is not None
            used.append(result.nonce)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"nonces": used, "errors": errors}), flush=True)  # noqa: T201


def hold(client: Client, spec: dict[str, Any]) -> None:
    started = threading.Semaphore(0)
    client.events.subscribe("request.start", lambda e: started.release())
    for _ in range(spec["count"]):
        threading.Thread(
            target=lambda: client.info.clearinghouse_state(spec["user"], timeout=spec["timeout"]), daemon=True
        ).start()
    for _ in range(spec["count"]):
        started.acquire()
    print("ready", flush=True)  # noqa: T201
    time.sleep(3600)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
