"""The chat page's HTTP surface and the HTTP plumbing the dialects share."""
