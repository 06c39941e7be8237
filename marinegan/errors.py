"""Exceptions raised by marinegan: one readable message naming the problem and the fix."""

from __future__ import annotations


class MarineganError(Exception):
    """Base class of every error marinegan raises on bad input."""


class ConfigError(MarineganError, ValueError):
    """A model or training configuration is invalid or does not match its weights."""


class WeightsError(MarineganError):
    """A weights file is missing, unsafe (pickle), or does not match the model's config."""


class HubError(MarineganError):
    """A model could not be found or fetched from the Hugging Face Hub or its local cache."""


class DataError(MarineganError, ValueError):
    """An image, label file or dataset is missing, corrupt or inconsistent."""
