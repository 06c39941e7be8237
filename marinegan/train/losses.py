"""GAN losses on discriminator logits: the original (BCE, non-saturating G) and the hinge loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def d_real_loss(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """D's loss on real images: BCE towards 1, or hinge ``relu(1 - D(x))``."""
    if kind == "hinge":
        return F.relu(1 - logits).mean()
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def d_fake_loss(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """D's loss on generated images: BCE towards 0, or hinge ``relu(1 + D(G(z)))``."""
    if kind == "hinge":
        return F.relu(1 + logits).mean()
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def g_loss(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """G's loss: non-saturating BCE (``-log D(G(z))``) or hinge (``-D(G(z))``)."""
    if kind == "hinge":
        return -logits.mean()
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
