"""`TrainConfig`: every setting of a GAN training run (saved as ``train_config.json`` in the run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from marinegan.errors import ConfigError
from marinegan.models.config import DCGANConfig, check_known_keys

DIFFAUGMENT_OPS = ("color", "translation", "cutout")


@dataclass
class TrainConfig:
    """Defaults are the DCGAN recipe of Radford et al. / the PyTorch DCGAN tutorial.

    Args:
        model: the architecture (64x64 RGB DCGAN by default).
        steps: optimisation steps (one D and one G update each).
        batch_size: images per step and per process (128 in the tutorial).
        lr, beta1, beta2: Adam (2e-4, 0.5, 0.999).
        loss: ``"bce"`` (the original non-saturating GAN loss) or ``"hinge"``.
        diffaugment: DiffAugment (Zhao et al. 2020) ops applied to real and fake images before D,
            a comma-separated subset of ``color,translation,cutout``; empty for none.
        ema: decay of an exponential moving average of G's weights (0 = off; 0.999 is usual).
            With EMA on, the EMA generator is used for samples and saved as the generator; its decay
            warms up as ``min(ema, (1 + t) / (10 + t))`` and its BatchNorm statistics are re-estimated
            for its own weights before it samples or is saved (:mod:`marinegan.train.ema`).
        seed: the seed of weights, data order, latents and augmentation.
        sample_every: steps between fixed-noise grids (the frames of ``progress.gif``).
        checkpoint_every: steps between atomic checkpoints.
        log_every: steps between records in ``metrics.jsonl`` (and external loggers).
        amp: mixed precision (bfloat16 autocast) on CUDA; ignored on CPU.
        n_fixed: number of fixed-noise samples in the progress grids.
    """

    model: DCGANConfig = field(default_factory=DCGANConfig)
    steps: int = 1000
    batch_size: int = 128
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"
    diffaugment: str = ""
    ema: float = 0.0
    seed: int = 0
    sample_every: int = 100
    checkpoint_every: int = 200
    log_every: int = 1
    amp: bool = False
    n_fixed: int = 64

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = DCGANConfig.from_dict(self.model, source="train config 'model'")
        if self.loss not in ("bce", "hinge"):
            raise ConfigError(f"loss={self.loss!r} must be 'bce' or 'hinge'")
        ops = self.diffaugment_ops
        bad = [op for op in ops if op not in DIFFAUGMENT_OPS]
        if bad:
            raise ConfigError(f"unknown DiffAugment ops {bad}; choose from {list(DIFFAUGMENT_OPS)}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"ema={self.ema} must be in [0, 1) (0 turns the EMA generator off)")
        for name in ("steps", "batch_size", "sample_every", "checkpoint_every", "log_every", "n_fixed"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if self.lr <= 0:
            raise ConfigError(f"lr={self.lr} must be positive")

    @property
    def diffaugment_ops(self) -> list[str]:
        return [op.strip() for op in self.diffaugment.split(",") if op.strip()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "training settings") -> TrainConfig:
        check_known_keys(cls, data, source)
        return cls(**data)
