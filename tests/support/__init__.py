"""Helpers the test suites share: real server processes, Redis servers, SSE readers, apps."""
