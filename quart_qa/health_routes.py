"""Health and metrics endpoints for operators."""

from __future__ import annotations

import time

from quart import Blueprint, Response, jsonify

from .state import get_state

health = Blueprint("health", __name__)


@health.get("/healthz")
async def healthz() -> Response:
    """Liveness and load of this process: connections, running answers, uptime."""
    state = get_state()
    body = {
        "status": "draining" if state.draining else "ok",
        "connections": state.registry.connections,
        "users": len(state.registry),
        "running_answers": state.runner.running_count,
        "uptime_seconds": round(time.monotonic() - state.started_at, 3),
    }
    response = jsonify(body)
    response.status_code = 503 if state.draining else 200
    return response


@health.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics of this process (each worker process reports its own)."""
    return Response(
        get_state().metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
