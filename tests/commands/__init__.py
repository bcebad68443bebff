"""Tests of the terminal client commands, run as real processes against real servers."""
