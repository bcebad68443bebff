"""Tests of quart_qa.brokers."""
