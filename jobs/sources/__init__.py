"""One module per source kind: `fetch(client, config) -> bytes` is the only I/O,
`parse(raw, options) -> Parsed` is pure. `REGISTRY` (in registry.py) maps kinds to modules."""
