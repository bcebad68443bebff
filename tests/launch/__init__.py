"""Tests of the launch layer: the CLI, the Hypercorn server process, workers."""
