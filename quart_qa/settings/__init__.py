"""Settings: the TOML file, its one-line errors, the answer script and model presets.

Imports nothing else of quart_qa, and no web framework, broker client or pydantic."""
