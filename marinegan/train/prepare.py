"""Turning any image dataset into the GAN's training tensor: uint8 ``(N, C, S, S)``, squared and resized."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from marinegan.errors import DataError


def _image_of(item) -> torch.Tensor:
    image = item[0] if isinstance(item, (tuple, list)) else item
    image = torch.as_tensor(image)
    if image.dtype != torch.uint8:
        raise DataError(f"training images must be uint8 (C, H, W) tensors, got {image.dtype}")
    return image


def prepare_images(dataset: Dataset, image_size: int, channels: int, progress: bool = True) -> torch.Tensor:
    """Resize the short side to ``image_size`` and centre-crop (as the DCGAN example), into one uint8 tensor.

    Items may be an image, ``(image, target)`` or ``(image, label)``. A 3-channel image cannot feed
    a 4-channel (RGBA) generator: use ``object_crops(..., alpha=True)`` for that.
    """
    if len(dataset) == 0:
        raise DataError("the training dataset is empty")
    out = torch.empty(len(dataset), channels, image_size, image_size, dtype=torch.uint8)
    for i in tqdm(range(len(dataset)), desc="loading training images", disable=not progress, leave=False):
        image = _image_of(dataset[i])
        if image.shape[0] != channels:
            hint = " (make RGBA object crops with object_crops(..., alpha=True))" if channels == 4 else ""
            raise DataError(f"item {i} has {image.shape[0]} channels but the model has {channels}{hint}")
        image = F.resize(image, [image_size], antialias=True)
        out[i] = F.center_crop(image, [image_size, image_size])
    return out
