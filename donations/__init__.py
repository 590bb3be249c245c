"""The donations service: domain rules, their adapters and the composition root."""
