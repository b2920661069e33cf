"""predtrack: pre-register predictions, resolve them from artifacts, score them."""

__version__ = "0.1.0"
