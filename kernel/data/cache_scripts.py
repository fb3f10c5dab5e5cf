"""The Lua scripts of :class:`kernel.data.cache_backends.RedisBackend` (atomic on Redis)
and their arguments."""

from __future__ import annotations

from collections.abc import Mapping


def ms(ttl: float) -> int:
    """A TTL in seconds as Redis's milliseconds (at least 1)."""
    return max(1, round(ttl * 1000))


UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
# an expiry only for a key without one: PEXPIRE ... NX needs Redis 7, this does not
EXPIRE_NEW = "if redis.call('pttl', KEYS[1]) == -1 then redis.call('pexpire', KEYS[1], ARGV[1]) end"
# zincrby_many: every key's kind checked before the first write (all or nothing); ARGV
# holds, per key, its expiry in ms (0: none), its member count, then member, amount pairs
ZINCRBY_MANY = """
for _, key in ipairs(KEYS) do
  local kind = redis.call('type', key).ok
  if kind ~= 'zset' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' is not a sorted set')
  end
end
local scores, at = {}, 1
for _, key in ipairs(KEYS) do
  local ttl, n = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  for _ = 1, n do
    scores[#scores + 1] = redis.call('zincrby', key, ARGV[at + 1], ARGV[at])
    at = at + 2
  end
  if ttl > 0 and redis.call('pttl', key) == -1 then redis.call('pexpire', key, ttl) end
end
return scores
"""


def zincrby_many_args(
    increments: Mapping[str, Mapping[str, float]], ttls: Mapping[str, float | None]
) -> list[str | float]:
    """``ARGV`` of :data:`ZINCRBY_MANY` (the keys, in the same order, are its ``KEYS``)."""
    args: list[str | float] = []
    for key, amounts in increments.items():
        ttl = ttls.get(key)
        args += (0 if ttl is None else ms(ttl), len(amounts))
        args += [item for pair in amounts.items() for item in pair]
    return args
