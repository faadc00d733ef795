"""Shared state in Redis: the IP budget, the 429 backoff, address allowances and nonces.

Every operation is one atomic Lua script (the rules of :mod:`.ledger` and :mod:`.address`, written
again for Redis; ``tests/test_ratelimit_ledger.py`` runs the same cases against both).  Times come
from the Redis server (``TIME``), so the processes and hosts sharing it need no synchronised clocks.
Every key carries a TTL: a process that dies leaves nothing behind that outlives its requests' holds.

Keys (``{p}`` = the configured prefix; the braces make a Redis Cluster keep one scope on one slot):
``{p}:{scope}:log`` (sorted set of ``weight:id`` scored by the time the entry stops counting, ms),
``:total`` (their sum), ``:pause`` (the 429 backoff, its TTL is the pause), ``:strikes``
(consecutive 429s), ``:probe`` (a probe is in flight), ``:epoch`` (changes when Redis lost its data;
kept a day after the last use);
``{p}:{addr:0x…}`` (hash: ``used``, ``cap``, ``over`` = ms of the last request let through while
exhausted); ``{p}:{nonce:0x…}`` (the last nonce handed out for a signer) and, for its window (the rule of
:class:`~hyperliquid_client.runtime.signing.nonces.Flights`), ``:ranks`` and ``:ends`` (sorted sets of the
nonces in flight scored by the order they were taken in and by the end of their hold, ms) and ``:taken``
(how many were taken through the window; kept as long as the longest hold).

:class:`RedisStore` wraps the connection: a failed call (connection refused, timeout, Redis
loading) raises :class:`StoreDown`, after which calls fail fast for ``retry`` seconds; the caller
then runs on its local share.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from hyperliquid_client.runtime.errors import ConfigError

__all__ = ["RedisStore", "StoreDown"]

T = TypeVar("T")

#: ``now``: the Redis server's time in ms
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

#: drop the entries of the log ``KEYS[1]`` that stopped counting; their weight leaves the total ``KEYS[2]``
_PRUNE = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  local sum = 0
  for _, m in ipairs(gone) do sum = sum + tonumber(string.match(m, '^(%d+):')) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('DECRBY', KEYS[2], sum)
end
"""


#: ``member``: the next nonce of the signer ``KEYS[1]``, ``max(now, last + 1, ARGV[1])``, kept ``ARGV[2]`` ms
_NEXT = """
local nonce = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[1]))
local member = string.format('%d', nonce)
redis.call('SET', KEYS[1], member, 'PX', tonumber(ARGV[2]))
"""


def _script(text: str) -> str:
    """``text`` with ``-- @now``, ``-- @prune`` and ``-- @next`` replaced by :data:`_NOW`, :data:`_PRUNE`
    and :data:`_NEXT`."""
    for mark, part in (("now", _NOW), ("prune", _PRUNE), ("next", _NEXT)):
        text = text.replace(f"-- @{mark}\n", part.lstrip("\n"))
    return text


_ADMIT = _script(
    """
-- @now
local epoch = redis.call('GET', KEYS[6])
if not epoch then
  epoch = ARGV[7]
  redis.call('SET', KEYS[6], epoch, 'PX', 86400000)
  return {0, 0, 'reset', epoch, 0}
end
redis.call('PEXPIRE', KEYS[6], 86400000)
local window = tonumber(ARGV[3])
local hold = tonumber(ARGV[4])
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then return {0, pause, 'backoff', epoch, 0} end
local probe = 0
local strikes = tonumber(redis.call('GET', KEYS[4]) or '0')
if strikes > 0 then
  local held = redis.call('PTTL', KEYS[5])
  if ARGV[6] == '1' then return {0, math.max(held, 250), 'backoff', epoch, 0} end
  if held > 0 then return {0, held, 'backoff', epoch, 0} end
  probe = 1
end
-- @prune
local total = tonumber(redis.call('GET', KEYS[2]) or '0')
local weight = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if total + weight > limit then
  local needed = total + weight - limit
  local freed = 0
  local wait = window
  local items = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #items, 2 do
    freed = freed + tonumber(string.match(items[i], '^(%d+):'))
    if freed >= needed then
      wait = tonumber(items[i + 1]) - now
      break
    end
  end
  return {0, math.max(wait, 1), 'budget', epoch, total}
end
redis.call('ZADD', KEYS[1], now + hold + window, ARGV[5])
total = redis.call('INCRBY', KEYS[2], weight)
redis.call('PEXPIRE', KEYS[1], hold + window)
redis.call('PEXPIRE', KEYS[2], hold + window)
if probe == 1 then redis.call('SET', KEYS[5], '1', 'PX', math.min(hold, 2000)) end
return {1, probe, 'ok', epoch, total}
"""
)

_SETTLE = _script(
    """
-- @now
local window = tonumber(ARGV[2])
local ttl = tonumber(ARGV[8])
if ARGV[1] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now + window, ARGV[1])
end
local extra = tonumber(ARGV[4])
if extra > 0 then
  redis.call('ZADD', KEYS[1], now + window, ARGV[3])
  redis.call('INCRBY', KEYS[2], extra)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if ARGV[5] == 'ok' then
  redis.call('DEL', KEYS[4], KEYS[5])
  return {0, 0}
end
if ARGV[5] == '429' then
  local strikes = redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], 600000)
  local pause = tonumber(ARGV[6])
  if pause < 0 then
    pause = math.min(tonumber(ARGV[7]), tonumber(ARGV[9]) * 2 ^ math.min(strikes - 1, 30))
  end
  pause = math.max(math.floor(pause), 1)
  if pause > redis.call('PTTL', KEYS[3]) then redis.call('SET', KEYS[3], '1', 'PX', pause) end
  redis.call('DEL', KEYS[5])
  return {strikes, pause}
end
return {0, 0}
"""
)

_REPLAY = _script(
    """
-- @now
local sum = 0
local longest = 0
for i = 1, #ARGV, 3 do
  local left = tonumber(ARGV[i + 1])
  redis.call('ZADD', KEYS[1], now + left, ARGV[i + 2])
  sum = sum + tonumber(ARGV[i])
  if left > longest then longest = left end
end
if sum > 0 then
  redis.call('INCRBY', KEYS[2], sum)
  redis.call('PEXPIRE', KEYS[1], longest)
  redis.call('PEXPIRE', KEYS[2], longest)
end
return sum
"""
)

_USED = _script(
    """
-- @now
-- @prune
return {tonumber(redis.call('GET', KEYS[2]) or '0'), math.max(redis.call('PTTL', KEYS[3]), 0)}
"""
)

_ADDRESS_CHARGE = _script(
    """
-- @now
local n = tonumber(ARGV[1])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local cap = redis.call('HGET', KEYS[1], 'cap')
if cap and ARGV[2] == '1' and used + n > tonumber(cap) then
  local since = now - tonumber(redis.call('HGET', KEYS[1], 'over') or '-1e15')
  if since < tonumber(ARGV[3]) then return {0, used, cap, tonumber(ARGV[3]) - since} end
  redis.call('HSET', KEYS[1], 'over', now)
end
used = redis.call('HINCRBY', KEYS[1], 'used', n)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return {1, used, cap or -1, 0}
"""
)

_ADDRESS_OBSERVE = """
redis.call('HSET', KEYS[1], 'used', ARGV[1], 'cap', ARGV[2])
if ARGV[4] == '1' then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'over', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

_NONCE = _script(
    """
-- @now
-- @next
return member
"""
)

#: the window of a signer (KEYS: last nonce, ranks, ends, taken; ARGV: floor, last's TTL ms, window, hold ms):
#: ``{nonce, 0}`` when taken, ``{0, ms until the holds keeping it shut end}`` when shut
_NONCE_TAKE = _script(
    """
-- @now
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[2], n)
  redis.call('ZREM', KEYS[3], n)
end
local taken = tonumber(redis.call('GET', KEYS[4]) or '0')
local shut = 0
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', taken - tonumber(ARGV[3]))) do
  shut = math.max(shut, tonumber(redis.call('ZSCORE', KEYS[3], n)) - now)
end
if shut > 0 then return {0, shut} end
-- @next
local hold = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], taken, member)
redis.call('ZADD', KEYS[3], now + hold, member)
redis.call('INCR', KEYS[4])
for i = 2, 4 do
  if redis.call('PTTL', KEYS[i]) < hold then redis.call('PEXPIRE', KEYS[i], hold) end
end
return {member, 0}
"""
)

_NONCE_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
"""

#: how long an address's allowance stays in Redis without being touched (ms)
_ADDRESS_TTL_MS = 86_400_000
#: nonces stay for the exchange's window (it accepts nonces up to two days old) (ms)
_NONCE_TTL_MS = 2 * 86_400_000


class StoreDown(Exception):
    """Redis could not be used for this call (the reason is in ``str()``)."""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisStore:
    """One Redis connection pool and the scripts (see the module docs).

    ``on_state(up, error)`` is called (outside any lock) when Redis becomes unreachable or reachable
    again; ``epoch_changed()`` when Redis lost its data (a restart without persistence).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        timeout: float,
        retry: float,
        on_state: Callable[[bool, str | None], None] | None = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ConfigError(
                "rate.redis_url", "needs the redis client library: pip install 'hyperliquid-client[redis]'"
            ) from exc
        self._redis_errors: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.BusyLoadingError,
            OSError,
        )
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self.url_host = self._client.connection_pool.connection_kwargs.get("host", "?")
        self.prefix = prefix
        self.retry = retry
        self._on_state = on_state
        self._admit = self._client.register_script(_ADMIT)
        self._settle = self._client.register_script(_SETTLE)
        self._replay = self._client.register_script(_REPLAY)
        self._used = self._client.register_script(_USED)
        self._addr_charge = self._client.register_script(_ADDRESS_CHARGE)
        self._addr_observe = self._client.register_script(_ADDRESS_OBSERVE)
        self._nonce = self._client.register_script(_NONCE)
        self._nonce_take = self._client.register_script(_NONCE_TAKE)
        self._nonce_release = self._client.register_script(_NONCE_RELEASE)
        self._lock = threading.Lock()
        self.up = True
        self._retry_at = 0.0
        self.epoch: str | None = None

    @property
    def usable(self) -> bool:
        """True when a call should try Redis: it is up, or it is time to try it again."""
        return self.up or time.monotonic() >= self._retry_at

    # ------------------------------------------------------------------ plumbing
    def _keys(self, scope: str, *names: str) -> list[str]:
        return [f"{self.prefix}:{{{scope}}}:{n}" for n in names]

    def _call(self, fn: Callable[[], T]) -> T:
        if not self.up and time.monotonic() < self._retry_at:
            raise StoreDown("redis unreachable (retrying later)")
        try:
            result = fn()
        except self._redis_errors as exc:
            self._down(f"{type(exc).__name__}: {exc}")
            raise StoreDown(str(exc)) from exc
        if not self.up:
            with self._lock:
                was_down, self.up = not self.up, True
            if was_down and self._on_state is not None:
                self._on_state(True, None)
        return result

    def _down(self, error: str) -> None:
        with self._lock:
            was_up, self.up = self.up, False
            self._retry_at = time.monotonic() + self.retry
        if was_up and self._on_state is not None:
            self._on_state(False, error)

    # ------------------------------------------------------------------ budget
    def admit(
        self, scope: str, weight: int, limit: int, *, window: float, hold: float, background: bool
    ) -> tuple[str | None, float, str, bool, int, str]:
        """``(member, wait_s, reason, probe, total, epoch)``: ``member`` is ``None`` when refused."""
        member = f"{weight}:{uuid.uuid4().hex}"
        keys = self._keys(scope, "log", "total", "pause", "strikes", "probe", "epoch")
        args: list[str | int] = [
            weight,
            limit,
            _ms(window),
            _ms(hold),
            member,
            "1" if background else "0",
            uuid.uuid4().hex,
        ]
        granted, value, reason, epoch, total = self._call(lambda: self._admit(keys=keys, args=args))
        if granted:
            return member, 0.0, "ok", bool(value), int(total), str(epoch)
        return None, int(value) / 1000, str(reason), False, int(total), str(epoch)

    def settle(
        self,
        scope: str,
        member: str | None,
        *,
        window: float,
        extra: int,
        outcome: str,
        retry_after: float | None,
        base: float,
        maximum: float,
    ) -> None:
        """The request of ``member`` was answered: stamp it, add ``extra``, record a 429 or a success."""
        keys = self._keys(scope, "log", "total", "pause", "strikes", "probe")
        args: list[str | int] = [
            member or "",
            _ms(window),
            f"{extra}:{uuid.uuid4().hex}",
            extra,
            outcome,
            -1 if retry_after is None else int(retry_after * 1000),
            _ms(maximum),
            _ms(window * 2),
            _ms(base),
        ]
        self._call(lambda: self._settle(keys=keys, args=args))

    def replay(self, scope: str, entries: list[tuple[int, float]]) -> int:
        """Add ``(weight, seconds still counting)`` entries (spent while Redis could not count them)."""
        args: list[str | int] = []
        for weight, left in entries:
            if weight > 0 and left > 0:
                args.extend((weight, _ms(left), f"{weight}:{uuid.uuid4().hex}"))
        if not args:
            return 0
        keys = self._keys(scope, "log", "total")
        return int(self._call(lambda: self._replay(keys=keys, args=args)))

    def used(self, scope: str) -> tuple[int, float]:
        """``(weight counting now, seconds of backoff left)``."""
        keys = self._keys(scope, "log", "total", "pause")
        total, pause = self._call(lambda: self._used(keys=keys, args=[]))
        return int(total), int(pause) / 1000

    # ------------------------------------------------------------------ addresses
    def _address_key(self, address: str) -> list[str]:
        return [f"{self.prefix}:{{addr:{address}}}"]

    def address_charge(self, address: str, n: int, *, order: bool, every: float) -> tuple[bool, int, int | None, float]:
        """``(allowed, used, cap or None, retry_after_s)``; counts ``n`` when allowed."""
        keys = self._address_key(address)
        allowed, used, cap, retry = self._call(
            lambda: self._addr_charge(keys=keys, args=[n, "1" if order else "0", _ms(every), _ADDRESS_TTL_MS])
        )
        cap_i = int(cap)
        return bool(allowed), int(used), (None if cap_i < 0 else cap_i), int(retry) / 1000

    def address_observe(self, address: str, used: int, cap: int, *, refused: bool = False) -> None:
        """Store what the exchange said about ``address`` (``refused``: it just refused a request)."""
        keys = self._address_key(address)
        args: list[str | int] = [used, cap, _ADDRESS_TTL_MS, "1" if refused else "0"]
        self._call(lambda: self._addr_observe(keys=keys, args=args))

    # ------------------------------------------------------------------ nonces
    def _nonce_keys(self, signer: str, *names: str) -> list[str]:
        return [f"{self.prefix}:{{nonce:{signer}}}" + (f":{n}" if n else "") for n in names]

    def nonce(self, signer: str, floor: int) -> int:
        """The next nonce of ``signer``: ``max(redis time ms, last + 1, floor)``."""
        keys = self._nonce_keys(signer, "")
        return int(self._call(lambda: self._nonce(keys=keys, args=[floor, _NONCE_TTL_MS])))

    def nonce_take(self, signer: str, floor: int, *, window: int, hold: float) -> tuple[int | None, float]:
        """With ``signer``'s window open (fewer than ``window`` taken since its oldest nonce in flight), the
        next nonce (as :meth:`nonce`), in flight for ``hold`` seconds: ``(nonce, 0.0)``; else ``(None, seconds
        until the holds keeping the window shut end)``."""
        keys = self._nonce_keys(signer, "", "ranks", "ends", "taken")
        args: list[str | int] = [floor, _NONCE_TTL_MS, window, _ms(hold)]
        nonce, shut = self._call(lambda: self._nonce_take(keys=keys, args=args))
        return (int(nonce), 0.0) if int(nonce) else (None, int(shut) / 1000)

    def nonce_release(self, signer: str, nonce: int) -> None:
        """End the flight of ``nonce`` in ``signer``'s window."""
        keys = self._nonce_keys(signer, "ranks", "ends")
        self._call(lambda: self._nonce_release(keys=keys, args=[nonce]))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
