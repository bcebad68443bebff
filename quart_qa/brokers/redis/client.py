"""Connecting to Redis: clients with bounded pools, the start-up check, safe URLs in logs."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from ...streaming.refusals import BrokerUnavailable

POOL_SIZE = 32  # connections to Redis per process, besides the reader's own
POOL_WAIT = 10.0  # seconds a command waits for a free connection


def redacted(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user + ':***' if user else '***'}@{host}"


def redis_client(url: str, timeout: float, **options: Any) -> Redis:
    """A client with strings in and out, bounded connects, and a bounded pool.

    A burst of commands waits for one of ``POOL_SIZE`` connections instead of opening
    thousands (or failing with "Too many connections").
    """
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT,
        **options,
    )
    return Redis.from_pool(pool)


async def check_redis(url: str, timeout: float) -> None:
    """Raise :class:`BrokerUnavailable` unless Redis at ``url`` answers within ``timeout``."""
    client = redis_client(url, timeout, socket_timeout=timeout)
    try:
        async with asyncio.timeout(timeout):
            await client.ping()
    except (RedisError, OSError, TimeoutError) as error:
        reason = str(error) or type(error).__name__
        raise BrokerUnavailable(f"cannot reach Redis at {redacted(url)}: {reason}") from None
    finally:
        await client.aclose()
