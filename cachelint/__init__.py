"""cachelint: find cache concurrency races in Python code, and fix them."""

__version__ = "0.1.0"
