"""``riesz.nn``: neural-network building blocks, built only on riesz's public API."""
from .attention import attention

__all__ = ["attention"]
