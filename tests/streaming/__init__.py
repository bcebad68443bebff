"""Tests of quart_qa.streaming."""
