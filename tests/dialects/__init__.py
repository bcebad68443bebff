"""Tests of quart_qa.dialects."""
