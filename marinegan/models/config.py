"""`DCGANConfig`: the one dataclass that describes a generator/discriminator pair."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from marinegan.errors import ConfigError

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
SUPPORTED_CHANNELS = (1, 3, 4)
UPSAMPLE_MODES = ("transposed", "resize")


def check_known_keys(cls: type, data: Any, source: str, hint: str = "") -> None:
    """Raise :class:`ConfigError` if ``data`` is not a mapping of ``cls``'s dataclass fields."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {unknown}; {cls.__name__} has only {sorted(known)}. {hint}".strip())


@dataclass
class DCGANConfig:
    """Architecture of a DCGAN (Radford et al. 2015), as in the PyTorch DCGAN example.

    Args:
        image_size: output side in pixels, one of 32, 64 (the paper's) or 128.
        channels: 3 for RGB, 4 for RGBA object sprites (alpha is the 4th channel), 1 for grey.
        nz: length of the latent vector ``z``.
        ngf: generator feature width (channels of its last hidden layer).
        ndf: discriminator feature width (channels of its first layer).
        spectral_norm: wrap the discriminator's convolutions in spectral normalisation
            (Miyato et al. 2018); BatchNorm is then dropped from the discriminator.
        upsample: how the generator doubles resolution: ``"transposed"`` (the DCGAN paper's 4x4
            stride-2 transposed convolutions) or ``"resize"`` (nearest-neighbour upsampling then a 3x3
            convolution, which avoids the transposed convolution's checkerboard artefacts; Odena et al. 2016).
    """

    image_size: int = 64
    channels: int = 3
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    spectral_norm: bool = False
    upsample: str = "transposed"

    def __post_init__(self) -> None:
        if self.image_size not in SUPPORTED_IMAGE_SIZES:
            raise ConfigError(
                f"image_size={self.image_size!r} is not supported; use one of {SUPPORTED_IMAGE_SIZES}"
            )
        if self.channels not in SUPPORTED_CHANNELS:
            raise ConfigError(
                f"channels={self.channels!r} is not supported; use 3 (RGB), 4 (RGBA) or 1 (grey)"
            )
        if self.upsample not in UPSAMPLE_MODES:
            raise ConfigError(f"upsample={self.upsample!r} must be one of {UPSAMPLE_MODES}")
        for name in ("nz", "ngf", "ndf"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}={value!r} must be a positive integer")

    @property
    def n_blocks(self) -> int:
        """Number of stride-2 hidden blocks between the 4x4 stem and the output layer."""
        return int(math.log2(self.image_size)) - 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> DCGANConfig:
        """Build a config from a ``config.json`` mapping, rejecting unknown keys clearly."""
        check_known_keys(cls, data, source, "Was this file written by another library?")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
