"""Tests of quart_qa.web."""
