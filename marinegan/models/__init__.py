"""Models: the DCGAN generator and discriminator and their config."""

from marinegan.models.config import DCGANConfig
from marinegan.models.dcgan import Discriminator, Generator, init_dcgan_weights

__all__ = ["DCGANConfig", "Discriminator", "Generator", "init_dcgan_weights"]
