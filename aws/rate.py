"""Rate shaping: the panel's own token buckets in front of EC2's, so a batch runs at the rate AWS
allows instead of bouncing off `RequestLimitExceeded` and sleeping in botocore's random backoff.

- One bucket per (account, Region, category); the categories and their numbers are those AWS
  documents for the EC2 API ("EC2 API throttling"), settable with `WLPANEL_AWS_RATE_BUCKETS`.
- The buckets live in Redis (one Lua script refills and takes atomically, or says how long to
  wait), so every worker process shares them; without Redis (the embedded stand-ins) each process
  keeps its own.
- Adaptive (AIMD): a `RequestLimitExceeded` cuts that bucket's rate (x0.7, at most once a second)
  and empties it, since AWS's is empty; each success raises the rate a little, never above the
  documented one. AWS's numbers may be lower for an account (or for the sandbox): the engine
  learns them instead of copying ours.
- First come, first served: a caller waits in line with a priority (its environment's place: when
  its operation began); a token goes to the oldest waiter. A waiter whose process died leaves the
  line within `WAITER_TTL` seconds.

Attached to each EC2 client by `attach()` as botocore handlers: `before-parameter-build` picks the
category, `before-send` takes a token for every attempt (botocore's retries included),
`response-received` reports throttled or not.
"""

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

log = logging.getLogger(__name__)

# AWS, "Amazon EC2 API throttling" (per account and Region): bucket size, refill per second.
DEFAULT_BUCKETS: dict[str, tuple[float, float]] = {
    "non-mutating": (100, 20),
    "unfiltered-describe": (50, 10),
    "mutating": (50, 5),
    "resource-intensive": (50, 5),
    "tags": (100, 10),
    "run-instances": (5, 2),
    "terminate-instances": (100, 5),
}
RESOURCE_INTENSIVE = frozenset(
    {
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateKeyPair",
    }
)
# Expensive when neither filtered nor paginated nor naming ids: their own, smaller bucket.
UNFILTERED_DESCRIBES = frozenset({"DescribeInstances", "DescribeNetworkInterfaces", "DescribeSecurityGroups"})
NARROWING_PARAMETERS = frozenset(
    {"Filters", "MaxResults", "InstanceIds", "NetworkInterfaceIds", "GroupIds", "GroupNames"}
)
THROTTLE_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException", "EC2ThrottledException"})

DECREASE = 0.7  # rate x this on a throttle
CUT_COOLDOWN = 1.0  # s: the calls in flight when AWS said no all come back throttled; cut once
INCREASE = 0.002  # of the documented rate, per success
FLOOR = 0.05  # of the documented rate: never slower
WAITER_TTL = 5.0  # s without a poll before a waiter is dropped from the line
MAX_POLL = 0.5  # s: a waiter looks again at least this often
KEY_TTL_MS = 3_600_000  # idle buckets and lines vanish from Redis after an hour


class RateWaitTooLong(RuntimeError):
    """A call waited longer than `WLPANEL_AWS_RATE_MAX_WAIT_SECONDS` for its turn."""


def category_of(operation: str, params: dict) -> str:
    """The EC2 throttling category of a call."""
    if operation == "RunInstances":
        return "run-instances"
    if operation == "TerminateInstances":
        return "terminate-instances"
    if operation in ("CreateTags", "DeleteTags"):
        return "tags"
    if operation in RESOURCE_INTENSIVE:
        return "resource-intensive"
    if operation.startswith(("Describe", "List", "Get")):
        if operation in UNFILTERED_DESCRIBES and not NARROWING_PARAMETERS & set(params):
            return "unfiltered-describe"
        return "non-mutating"
    return "mutating"


def _setting(name: str, default):
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return default if value is None else value


def enabled() -> bool:
    return str(_setting("WLPANEL_AWS_RATE_SHAPING", "1")).lower() not in ("0", "false", "no", "off")


def buckets() -> dict[str, tuple[float, float]]:
    """AWS's documented numbers, with `WLPANEL_AWS_RATE_BUCKETS` (a dict, or JSON in the process
    environment: `{"mutating": [20, 3]}`) replacing some categories'."""
    overrides = _setting("WLPANEL_AWS_RATE_BUCKETS", {})
    if isinstance(overrides, str):
        overrides = json.loads(overrides or "{}")
    table = dict(DEFAULT_BUCKETS)
    for name, numbers in overrides.items():
        if name not in DEFAULT_BUCKETS:
            raise ValueError(f"WLPANEL_AWS_RATE_BUCKETS: unknown category {name!r} (known: {', '.join(DEFAULT_BUCKETS)})")
        size, refill = (float(number) for number in numbers)
        if size < 1 or refill <= 0:
            raise ValueError(f"WLPANEL_AWS_RATE_BUCKETS: {name} needs a size >= 1 and a refill > 0")
        table[name] = (size, refill)
    return table


def max_wait_seconds() -> float:
    return float(_setting("WLPANEL_AWS_RATE_MAX_WAIT_SECONDS", 60.0))


# --- The bucket, as plain data (the process-local limiter; the Lua script mirrors it) -------------


@dataclass
class Bucket:
    size: float  # documented: the bounds
    refill: float
    tokens: float = -1.0
    updated: float = 0.0
    rate: float = 0.0  # what we send at now (adapted)
    capacity: float = 0.0  # the burst we allow now (adapted)
    cut_at: float = float("-inf")

    def __post_init__(self) -> None:
        self.rate = self.rate or self.refill
        self.capacity = self.capacity or self.size
        if self.tokens < 0:
            self.tokens = self.capacity

    def refill_to(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def take(self, now: float, rank: int) -> float:
        """Take a token for the waiter at `rank` in line (0: the oldest): 0, or seconds to wait."""
        self.refill_to(now)
        if self.tokens >= rank + 1:
            self.tokens -= 1
            return 0.0
        return (rank + 1 - self.tokens) / self.rate

    def throttled(self, now: float) -> None:
        self.refill_to(now)
        self.tokens = min(self.tokens, 0.0)
        if now - self.cut_at >= CUT_COOLDOWN:
            self.cut_at = now
            self.rate = max(self.refill * FLOOR, self.rate * DECREASE)
            self.capacity = max(1.0, self.capacity * 0.5)

    def succeeded(self) -> None:
        self.rate = min(self.refill, self.rate + self.refill * INCREASE)
        self.capacity = min(self.size, self.capacity + 0.1)


class LocalLimiter:
    """Buckets and lines in this process only (no Redis: the embedded stand-ins)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._lines: dict[str, dict[str, float]] = {}

    def _bucket(self, key: str, size: float, refill: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(size, refill, updated=time.monotonic())
        return bucket

    def try_take(self, key: str, size: float, refill: float, member: str, priority: float) -> float:
        with self._lock:
            line = self._lines.setdefault(key, {})
            line[member] = priority
            rank = sorted(line.items(), key=lambda item: (item[1], item[0])).index((member, priority))
            wait = self._bucket(key, size, refill).take(time.monotonic(), rank)
            if wait == 0:
                del line[member]
            return wait

    def leave(self, key: str, member: str) -> None:
        with self._lock:
            self._lines.get(key, {}).pop(member, None)

    def report(self, key: str, size: float, refill: float, throttled: bool) -> None:
        with self._lock:
            bucket = self._bucket(key, size, refill)
            bucket.throttled(time.monotonic()) if throttled else bucket.succeeded()

    def state(self, key: str) -> dict | None:
        with self._lock:
            bucket = self._buckets.get(key)
            return None if bucket is None else {"tokens": bucket.tokens, "rate": bucket.rate, "capacity": bucket.capacity}


# --- The shared limiter: Redis ------------------------------------------------------------------

# KEYS: bucket hash, line (priority zset), deadlines zset. ARGV: size, refill, member, priority, ttl.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local size, refill = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'rate', 'capacity')
local rate = tonumber(h[3]) or refill
local capacity = tonumber(h[4]) or size
local tokens = tonumber(h[1]) or capacity
local updated = tonumber(h[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, member in ipairs(stale) do redis.call('ZREM', KEYS[2], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[3])
local rank = redis.call('ZRANK', KEYS[2], ARGV[3])
local wait = 0
if tokens >= rank + 1 then
  tokens = tokens - 1
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
else
  wait = (rank + 1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now, 'rate', rate, 'capacity', capacity)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
return tostring(wait)
"""

# KEYS: bucket hash. ARGV: size, refill, throttled (1/0), decrease, cooldown, increase, floor.
REPORT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local size, refill = tonumber(ARGV[1]), tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'rate', 'capacity', 'cut_at')
local rate = tonumber(h[3]) or refill
local capacity = tonumber(h[4]) or size
local tokens = tonumber(h[1]) or capacity
local updated = tonumber(h[2]) or now
local cut_at = tonumber(h[5]) or 0
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
if ARGV[3] == '1' then
  tokens = math.min(tokens, 0)
  if now - cut_at >= tonumber(ARGV[5]) then
    cut_at = now
    rate = math.max(refill * tonumber(ARGV[7]), rate * tonumber(ARGV[4]))
    capacity = math.max(1, capacity * 0.5)
  end
else
  rate = math.min(refill, rate + refill * tonumber(ARGV[6]))
  capacity = math.min(size, capacity + 0.1)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now, 'rate', rate, 'capacity', capacity, 'cut_at', cut_at)
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 1
"""


class RedisLimiter:
    """Buckets and lines in Redis, shared by every process that names the same Redis database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pid = None
        self._redis = None

    def _client(self):
        if self._pid != os.getpid():  # a prefork child must not share its parent's sockets
            import redis

            self._redis = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            self._take = self._redis.register_script(TAKE_SCRIPT)
            self._report = self._redis.register_script(REPORT_SCRIPT)
            self._pid = os.getpid()
        return self._redis

    @staticmethod
    def _keys(key: str) -> list[str]:
        return [f"wlpanel:rate:{key}", f"wlpanel:rate:{key}:line", f"wlpanel:rate:{key}:deadlines"]

    def try_take(self, key: str, size: float, refill: float, member: str, priority: float) -> float:
        self._client()
        return float(self._take(keys=self._keys(key), args=[size, refill, member, priority, WAITER_TTL, KEY_TTL_MS]))

    def leave(self, key: str, member: str) -> None:
        client = self._client()
        _, line, deadlines = self._keys(key)
        client.zrem(line, member)
        client.zrem(deadlines, member)

    def report(self, key: str, size: float, refill: float, throttled: bool) -> None:
        self._client()
        self._report(
            keys=self._keys(key)[:1],
            args=[size, refill, int(throttled), DECREASE, CUT_COOLDOWN, INCREASE, FLOOR, KEY_TTL_MS],
        )

    def state(self, key: str) -> dict | None:
        values = self._client().hgetall(self._keys(key)[0])
        if not values:
            return None
        return {name.decode(): float(value) for name, value in values.items() if name.decode() != "updated"}


_limiter_lock = threading.Lock()
_limiters: dict[str, object] = {}
_local = LocalLimiter()


def redis_url() -> str | None:
    """The Redis the buckets live in: `WLPANEL_AWS_RATE_REDIS_URL`, else the broker when it is Redis."""
    url = _setting("WLPANEL_AWS_RATE_REDIS_URL", "") or getattr(settings, "CELERY_BROKER_URL", "")
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def limiter():
    url = redis_url()
    if url is None:
        return _local
    with _limiter_lock:
        if url not in _limiters:
            _limiters[url] = RedisLimiter(url)
        return _limiters[url]


# --- Callers --------------------------------------------------------------------------------------


def bucket_key(account_key: str, region: str, category: str) -> str:
    return f"{account_key}:{region}:{category}"


def acquire(account_key: str, region: str, category: str, *, priority: float | None = None) -> float:
    """Wait for a token of the bucket, in line by `priority` (smaller: served first; None: now).
    The seconds waited."""
    size, refill = buckets()[category]
    key = bucket_key(account_key, region, category)
    priority = time.time() if priority is None else priority
    member = f"{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    chosen = limiter()
    try:
        while True:
            try:
                wait = chosen.try_take(key, size, refill, member, priority)
            except Exception as exc:  # Redis went away: keep going on this process's buckets
                if chosen is _local:
                    raise
                log.warning("rate shaping falls back to this process's buckets: %s", exc)
                chosen = _local
                continue
            if wait <= 0:
                return time.monotonic() - started
            if time.monotonic() - started + wait > max_wait_seconds():
                raise RateWaitTooLong(
                    f"waited {time.monotonic() - started:.0f} s for an AWS {category} token in {region}; try again later"
                )
            time.sleep(min(max(wait, 0.005), MAX_POLL))
    finally:
        try:
            chosen.leave(key, member)
        except Exception:
            log.debug("could not leave the line of %s", key, exc_info=True)


def report(account_key: str, region: str, category: str, *, throttled: bool) -> None:
    size, refill = buckets()[category]
    key = bucket_key(account_key, region, category)
    try:
        limiter().report(key, size, refill, throttled)
    except Exception as exc:
        log.warning("rate shaping could not record an answer in Redis: %s", exc)
        _local.report(key, size, refill, throttled)


def state(account_key: str, region: str, category: str) -> dict | None:
    """The bucket as it is now (`tokens`, `rate`, `capacity`), or None before its first call."""
    return limiter().state(bucket_key(account_key, region, category))


# --- botocore hook ------------------------------------------------------------------------------


def attach(client, *, region: str, account_key: str, priority: Callable[[], float | None]) -> None:
    """Shape an EC2 client's calls: a token per attempt, the answers adapt the bucket.
    `priority()` is called per attempt for the caller's place in line."""
    if client.meta.service_model.service_name != "ec2" or not enabled():
        return
    events = client.meta.events

    def categorise(params, model, context, **_):
        context["wlpanel_rate_category"] = category_of(model.name, params)

    def take(request, **_):
        category = (request.context or {}).get("wlpanel_rate_category")
        if category:
            acquire(account_key, region, category, priority=priority())

    def answered(parsed_response, context, exception=None, **_):
        category = context.get("wlpanel_rate_category")
        if not category or exception is not None or parsed_response is None:
            return
        code = (parsed_response.get("Error") or {}).get("Code", "")
        if code in THROTTLE_CODES:
            report(account_key, region, category, throttled=True)
        elif not code:
            report(account_key, region, category, throttled=False)

    events.register("before-parameter-build.ec2.*", categorise)
    events.register("before-send.ec2.*", take)
    events.register("response-received.ec2.*", answered)
