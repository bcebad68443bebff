"""Wire formats over the answering core: OpenAI Chat Completions and Anthropic Messages."""
