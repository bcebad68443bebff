"""Health and metrics endpoints for operators."""

from __future__ import annotations

import asyncio
import time

from quart import Blueprint, Response, jsonify

from .state import get_state

health = Blueprint("health", __name__)


@health.get("/healthz")
async def healthz() -> Response:
    """Readiness and load of this process: connections, answers, uptime, the broker."""
    state = get_state()
    broker = dict(state.broker.health())
    healthy = bool(broker.pop("healthy"))
    status = "draining" if state.draining else "ok" if healthy else "degraded"
    body = {
        "status": status,
        "connections": state.connection_count,
        "streams": {"chat": state.registry.connections, **state.streams.by_kind()},
        "users": len(state.registry),
        "running_answers": state.runner.running_count,
        "tasks": len(asyncio.all_tasks()),
        "uptime_seconds": round(time.monotonic() - state.started_at, 3),
        "config": {"source": state.settings.source, **state.reload.as_json()},
        **broker,
    }
    response = jsonify(body)
    response.status_code = 200 if status == "ok" else 503
    return response


@health.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics of this process (each worker process reports its own)."""
    return Response(
        get_state().metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
