"""The Lua scripts that keep per-user rules atomic across nodes.

Each script touches the keys of one user (or the node table) only, so it runs in one
Redis Cluster slot. Time comes from the server (``TIME``), never from a node's clock.
Connection tables are hashes with ``c:<node>`` (open connections) and ``e:<node>``
(when that count stops counting, refreshed by the node's ticker), so a dead node's
connections are forgotten within ``broker.node_ttl``.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Open connections in a connection table, without node `skip`; forgets dead nodes.
local function live(key, now, skip)
  local flat = redis.call('HGETALL', key)
  local counts, expiries = {}, {}
  for i = 1, #flat, 2 do
    local kind, node = string.sub(flat[i], 1, 2), string.sub(flat[i], 3)
    if kind == 'c:' then counts[node] = tonumber(flat[i + 1])
    elseif kind == 'e:' then expiries[node] = tonumber(flat[i + 1]) end
  end
  local total = 0
  for node, count in pairs(counts) do
    local expiry = expiries[node]
    if expiry and expiry > now then
      if node ~= skip then total = total + count end
    else
      redis.call('HDEL', key, 'c:' .. node, 'e:' .. node)
    end
  end
  return total
end

-- The answer in `running` lost its node (no lease): say so on the stream, once.
local function give_up(events, running_key, maxlen, ttl, text)
  local running = redis.call('GET', running_key)
  if not running or string.sub(running, 1, 1) == '!' then return false end
  redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'e', 'ERROR', 'd', text)
  redis.call('PEXPIRE', events, ttl)
  redis.call('SET', running_key, '!' .. running, 'PX', ttl)
  return true
end
"""

# KEYS: table; ARGV: node, count with the new one, limit, node_ttl_ms, key_ttl_ms
ADMIT = """
local now = now_ms()
local count = tonumber(ARGV[2])
if live(KEYS[1], now, ARGV[1]) + count > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], count, 'e:' .. ARGV[1], now + tonumber(ARGV[4]))
redis.call('HDEL', KEYS[1], 'idle')
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 1
"""

# KEYS: table [, events]; ARGV: node, count, node_ttl_ms, key_ttl_ms
SYNC = """
local now = now_ms()
local count = tonumber(ARGV[2])
if count > 0 then
  redis.call('HSET', KEYS[1], 'c:' .. ARGV[1], count, 'e:' .. ARGV[1], now + tonumber(ARGV[3]))
else
  redis.call('HDEL', KEYS[1], 'c:' .. ARGV[1], 'e:' .. ARGV[1])
end
if #KEYS > 1 then
  if live(KEYS[1], now, '') == 0 then
    redis.call('HSETNX', KEYS[1], 'idle', now)
  else
    redis.call('HDEL', KEYS[1], 'idle')
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1
"""

# KEYS: events, conns, lease, running, queue, rate
# ARGV: node, answer_id, payload, reject, max_pending, interval_ms, window_ms, lease_ms,
#       ttl_ms, maxlen, lost_text
ASK = """
local now = now_ms()
if live(KEYS[2], now, '') == 0 then return {'not_connected'} end
local lease_ms, ttl = tonumber(ARGV[8]), tonumber(ARGV[9])
local busy = redis.call('EXISTS', KEYS[3]) == 1
if not busy then give_up(KEYS[1], KEYS[4], ARGV[10], ttl, ARGV[11]) end
if busy then
  if ARGV[4] == '1' then return {'busy'} end
  local waiting = redis.call('LLEN', KEYS[5])
  if waiting >= tonumber(ARGV[5]) then return {'too_many_pending', waiting} end
end
local interval = tonumber(ARGV[6])
if interval > 0 then
  local arrival = math.max(tonumber(redis.call('GET', KEYS[6]) or now), now)
  local wait = arrival - now - tonumber(ARGV[7])
  if wait > 0 then return {'rate_limited', math.ceil(wait)} end
  redis.call('SET', KEYS[6], arrival + interval, 'PX', math.ceil(arrival + interval - now))
end
if busy then
  redis.call('RPUSH', KEYS[5], ARGV[3])
  redis.call('PEXPIRE', KEYS[5], ttl)
  return {'queued'}
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', lease_ms)
if redis.call('LLEN', KEYS[5]) > 0 then
  -- questions a dead node had queued go first; this node now drains the queue
  redis.call('RPUSH', KEYS[5], ARGV[3])
  redis.call('PEXPIRE', KEYS[5], ttl)
  return {'drain'}
end
redis.call('SET', KEYS[4], ARGV[2], 'PX', ttl)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
return {'run', newest and newest[1] or '0-0'}
"""

# KEYS: events, conns, lease, running, cancel
# ARGV: node, answer_id, lease_ms, ttl_ms, maxlen, terminal, name, data
EMIT = """
local now = now_ms()
local lease = redis.call('GET', KEYS[3])
local running = redis.call('GET', KEYS[4])
if running ~= ARGV[2] then
  -- nothing at all means Redis lost its data (a restart): carry on; anything else: lost
  if running or lease then return {'lost'} end
elseif lease and lease ~= ARGV[1] then
  return {'lost'}
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[4])
if ARGV[6] == '0' and redis.call('GET', KEYS[5]) == ARGV[2] then return {'cancelled'} end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[7], 'd', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local watchers = live(KEYS[2], now, '')
local idle = tonumber(redis.call('HGET', KEYS[2], 'idle') or now)
return {'ok', id, watchers, now - idle}
"""

# KEYS: lease, running, queue; ARGV: node, lease_ms, ttl_ms, drop, answer_id
NEXT = """
local lease = redis.call('GET', KEYS[1])
if lease ~= ARGV[1] and (lease or redis.call('GET', KEYS[2]) ~= ARGV[5]) then
  return {'lost'}
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
local item = redis.call('LPOP', KEYS[3])
if item then
  redis.call('SET', KEYS[2], cjson.decode(item)['id'], 'PX', ARGV[3])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'next', item}
end
redis.call('DEL', KEYS[1], KEYS[2])
return {'idle'}
"""

# KEYS: lease, running, queue, cancel; ARGV: ttl_ms
CANCEL = """
local running = redis.call('GET', KEYS[2])
local holder = redis.call('GET', KEYS[1])
if not running or string.sub(running, 1, 1) == '!' or not holder then return {'nothing'} end
local dropped = redis.call('LLEN', KEYS[3])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], running, 'PX', ARGV[1])
return {'cancelled', running, dropped, holder}
"""

# KEYS: lease, running; ARGV: node, answer_id, lease_ms, ttl_ms
REFRESH = """
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
local lease = redis.call('GET', KEYS[1])
if lease and lease ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""

# KEYS: events, lease, running, queue; ARGV: node, lease_ms, ttl_ms, maxlen, lost_text
SWEEP = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {'alive'} end
if not give_up(KEYS[1], KEYS[3], ARGV[4], tonumber(ARGV[3]), ARGV[5]) then return {'none'} end
if redis.call('LLEN', KEYS[4]) > 0 then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return {'drain'}
end
return {'given_up'}
"""

# The admin API's shared state (keys: keys.AdminKeys.scripts()).
# ARGV: scope field, rules (a JSON array), "replace" or "add", base of a new added script,
# how many rules. The generations field lists when each run of rules was given, newest first
# ("<version>:<count>,...", the last run's count left out): added rules keep the others'.
SAVE_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
local rules, base, given = ARGV[2], '', tostring(version)
if ARGV[3] == 'add' then
  local old = redis.call('HGET', KEYS[2], ARGV[1])
  if old then
    rules = string.sub(rules, 1, -2) .. ',' .. string.sub(old, 2)
    base = redis.call('HGET', KEYS[4], ARGV[1]) or ''
    local before = redis.call('HGET', KEYS[3], ARGV[1]) or '0'
    given = version .. ':' .. ARGV[5] .. ',' .. before
  else
    base = ARGV[4]
  end
end
redis.call('HSET', KEYS[2], ARGV[1], rules)
redis.call('HSET', KEYS[3], ARGV[1], given)
redis.call('HSET', KEYS[4], ARGV[1], base)
return version
"""

# ARGV: scope field ('' for every script, and every use count)
RESET_SCRIPT = """
if ARGV[1] == '' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
else
  for i = 2, 4 do redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return redis.call('INCR', KEYS[1])
"""

# KEYS: uses; ARGV: key, limit (0: none), key, limit, ... in the order the rules are tried
USE = """
for i = 1, #ARGV, 2 do
  local limit = tonumber(ARGV[i + 1])
  if limit == 0 then return {(i - 1) / 2, 0} end
  local used = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if used < limit then
    redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
    return {(i - 1) / 2, used}
  end
end
return {-1, 0}
"""

# KEYS: journal, journal_ids; ARGV: the entry as a JSON object without its id, maxlen
JOURNAL_ADD = """
local id = redis.call('INCR', KEYS[2])
local doc = '{"id":' .. id .. ',' .. string.sub(ARGV[1], 2)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], id .. '-1', 'd', doc)
return id
"""


def queue(pipe: Pipeline, script: AsyncScript, keys: list[str], args: list[Any]) -> None:
    """Add ``script`` to ``pipe`` by its SHA.

    redis-py's own way checks every script with ``SCRIPT EXISTS`` before each pipeline,
    one more round trip each time; ours are loaded at start and again after ``NOSCRIPT``.
    """
    pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)


class Scripts:
    """The scripts, registered on one client (called alone, redis-py reloads them itself)."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._all: list[AsyncScript] = []

        def register(body: str) -> AsyncScript:
            script = client.register_script(PRELUDE + body)
            self._all.append(script)
            return script

        self.admit = register(ADMIT)
        self.sync = register(SYNC)
        self.ask = register(ASK)
        self.emit = register(EMIT)
        self.next = register(NEXT)
        self.cancel = register(CANCEL)
        self.refresh = register(REFRESH)
        self.sweep = register(SWEEP)
        self.save_script = register(SAVE_SCRIPT)
        self.reset_script = register(RESET_SCRIPT)
        self.use = register(USE)
        self.journal_add = register(JOURNAL_ADD)

    async def load(self) -> None:
        """Load every script into Redis (at start, and after a ``NOSCRIPT``: a restart)."""
        for script in self._all:
            script.sha = await self._client.script_load(script.script)
