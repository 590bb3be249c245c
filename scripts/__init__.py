"""Operator commands: `make load` (bounded load against the local server) and `make smoke`."""
