"""Utilities in torch's ``torch.utils`` layout: ``polygrad.utils.data`` (data loading)."""

from . import data

__all__ = ["data"]
