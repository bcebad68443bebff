"""Servers that speak the quart-qa protocol on other stacks, for comparison."""
