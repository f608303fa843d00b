"""The Number Lookup wire format: sans-IO parsing of what clients send."""
