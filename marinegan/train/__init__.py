"""Training: the DCGAN loop with DiffAugment, hinge loss, spectral norm, EMA, checkpoints and DDP."""

from marinegan.train.config import TrainConfig
from marinegan.train.loop import TrainResult, train_gan

__all__ = ["TrainConfig", "TrainResult", "train_gan"]
