"""Local development: the same app and handlers, with AWS emulated in-process by moto."""
