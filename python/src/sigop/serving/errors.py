"""The serving domain's own errors (input errors live in sigop.inputs; limits' in sigop.limits)."""

from __future__ import annotations

__all__ = ["ModelNotFound"]


class ModelNotFound(KeyError):
    """No loaded model or version by that name (NOT_FOUND)."""

    def __str__(self) -> str:  # KeyError quotes its message
        return str(self.args[0])
