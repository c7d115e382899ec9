"""Subcommands of ``cobrador``: one module each, each with ``register(subparsers, common)``."""
