"""DCGAN generator and discriminator (Radford et al. 2015) with Hugging Face Hub I/O.

The 64x64 RGB default is layer for layer the PyTorch DCGAN example (nz=100, ngf=ndf=64:
the generator has 3,576,704 parameters). 32 and 128 pixels remove or add one stride-2 block.
"""

from __future__ import annotations

from pathlib import Path

import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from marinegan.errors import ConfigError
from marinegan.fileio import honour_umask
from marinegan.models.card import render_model_card
from marinegan.models.config import DCGANConfig
from marinegan.models.loading import load_pretrained

_HUB_KWARGS = dict(
    library_name="marinegan",
    tags=["gan", "dcgan", "marine-debris", "synthetic-data"],
    license="mit",
    repo_url="https://github.com/marinegan/marinegan",
)


def check_truncation(truncation: float | None) -> None:
    """Refuse a truncation threshold that is not a positive number (``None``: no truncation)."""
    if truncation is not None and (isinstance(truncation, bool) or not isinstance(truncation, int | float)
                                   or not 0 < truncation < float("inf")):
        raise ConfigError(f"truncation={truncation!r} must be a positive number of standard deviations (e.g. 1.0), "
                          "or None for untruncated latents")


def init_dcgan_weights(module: nn.Module) -> None:
    """The DCGAN initialisation: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = module.parametrizations.weight.original if hasattr(module, "parametrizations") else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _upsample_conv(c_in: int, c_out: int, mode: str) -> list[nn.Module]:
    """Double the resolution: a 4x4 stride-2 transposed conv, or nearest upsampling then a 3x3 conv."""
    if mode == "transposed":
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)]


class _HubModel(nn.Module):
    """Shared Hub behaviour: strict safetensors-only loading and a marinegan model card."""

    config: DCGANConfig
    role: str = "model"

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        force_download: bool = False,
        device: str | torch.device = "cpu",
    ):
        """Load from a local ``save_pretrained`` directory or a Hub repo id.

        Only ``config.json`` and ``model.safetensors`` are read; nothing is unpickled. Every key
        and shape is checked against the config (strict), and any mismatch raises one
        :class:`~marinegan.errors.WeightsError` naming the file, the key and the fix.
        """
        return load_pretrained(
            cls,
            pretrained_model_name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            force_download=force_download,
            device=device,
        )

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)  # type: ignore[misc]
        for path in Path(save_directory).iterdir():  # safetensors writes 0600: honour the umask instead
            if path.is_file():
                honour_umask(path)

    def generate_model_card(self, *args, **kwargs) -> ModelCard:  # noqa: ARG002
        return render_model_card(self, **kwargs)


class Generator(_HubModel, PyTorchModelHubMixin, **_HUB_KWARGS):
    """DCGAN generator: latent ``z`` of shape ``(N, nz)`` or ``(N, nz, 1, 1)`` to images
    of shape ``(N, channels, image_size, image_size)`` in ``[-1, 1]`` (tanh)."""

    role = "generator"

    def __init__(self, config: DCGANConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DCGANConfig()
        mult = 2**config.n_blocks
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.nz, config.ngf * mult, 4, 1, 0, bias=False),
            nn.BatchNorm2d(config.ngf * mult),
            nn.ReLU(True),
        ]
        for _ in range(config.n_blocks):
            layers += [
                *_upsample_conv(config.ngf * mult, config.ngf * mult // 2, config.upsample),
                nn.BatchNorm2d(config.ngf * mult // 2),
                nn.ReLU(True),
            ]
            mult //= 2
        layers += [*_upsample_conv(config.ngf, config.channels, config.upsample), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        self._hub_mixin_config = config

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z[:, :, None, None]
        if z.dim() != 4 or z.shape[1] != self.config.nz or z.shape[2:] != (1, 1):
            raise ValueError(
                f"latent must have shape (N, {self.config.nz}) or (N, {self.config.nz}, 1, 1), got {tuple(z.shape)}"
            )
        return self.main(z)

    def sample_latent(self, n: int, generator: torch.Generator | None = None,
                      truncation: float | None = None) -> torch.Tensor:
        """Draw ``n`` latents of shape ``(n, nz)`` on CPU, reproducible from ``generator``.

        Standard normal; with ``truncation=t``, BigGAN's truncation trick (Brock et al. 2019): every value
        beyond ``±t`` is drawn again until it falls inside, trading variety for typical, cleaner samples.
        ``None`` draws exactly what it drew before the option existed.
        """
        z = torch.randn(n, self.config.nz, generator=generator)
        if truncation is None:
            return z
        check_truncation(truncation)
        outside = z.abs() > truncation
        while outside.any():
            z[outside] = torch.randn(int(outside.sum()), generator=generator)
            outside = z.abs() > truncation
        return z

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0, batch_size: int = 256, truncation: float | None = None) -> torch.Tensor:
        """Generate ``n`` images ``(n, C, H, W)`` in ``[-1, 1]`` on CPU, reproducible from ``seed``
        (``truncation``: see :meth:`sample_latent`)."""
        rng = torch.Generator().manual_seed(seed)
        z = self.sample_latent(n, rng, truncation)
        was_training = self.training
        self.eval()
        out = torch.cat([self(z[i : i + batch_size].to(self.device)).cpu() for i in range(0, n, batch_size)])
        self.train(was_training)
        return out


class Discriminator(_HubModel, PyTorchModelHubMixin, **_HUB_KWARGS):
    """DCGAN discriminator: images ``(N, channels, image_size, image_size)`` to logits ``(N,)``.

    Unlike the PyTorch example it returns logits (no final sigmoid); train it with
    ``BCEWithLogitsLoss`` (same maths, numerically safe under AMP) or the hinge loss.
    """

    role = "discriminator"

    def __init__(self, config: DCGANConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DCGANConfig()
        sn = _spectral_norm if config.spectral_norm else (lambda m: m)
        layers: list[nn.Module] = [
            sn(nn.Conv2d(config.channels, config.ndf, 4, 2, 1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        mult = 1
        for _ in range(config.n_blocks):
            layers.append(sn(nn.Conv2d(config.ndf * mult, config.ndf * mult * 2, 4, 2, 1, bias=False)))
            if not config.spectral_norm:
                layers.append(nn.BatchNorm2d(config.ndf * mult * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            mult *= 2
        layers.append(sn(nn.Conv2d(config.ndf * mult, 1, 4, 1, 0, bias=False)))
        self.main = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        self._hub_mixin_config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)
