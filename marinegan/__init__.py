"""marinegan: GAN-made synthetic marine plastic, mixed into real detection datasets."""

from marinegan.device import resolve_device
from marinegan.errors import ConfigError, DataError, HubError, MarineganError, WeightsError
from marinegan.hub import load_generator
from marinegan.models import DCGANConfig, Discriminator, Generator

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DCGANConfig",
    "DataError",
    "Discriminator",
    "Generator",
    "HubError",
    "MarineganError",
    "WeightsError",
    "load_generator",
    "resolve_device",
]
