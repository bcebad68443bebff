"""The answering core, plain asyncio: SSE framing, per-user broadcast, pacing, answers.

No Quart, no Hypercorn, no Redis, no HTTP status codes: refusals are domain exceptions
(:mod:`quart_qa.streaming.refusals`) that the web layer and each dialect translate."""
