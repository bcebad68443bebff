"""Tests of quart_qa.settings."""
