"""Load benchmark: quart-qa against an sse-starlette baseline (``python -m bench``)."""
