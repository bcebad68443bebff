"""The broker seam and its backends: memory (one process) and Redis Streams (many)."""
