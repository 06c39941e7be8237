"""The EMA generator: a warmed-up moving average of G's weights, with BatchNorm statistics that fit it.

Two things make a plain ``ema = decay * ema + (1 - decay) * g`` fail on short runs:

- it starts from the *initial* weights: with decay 0.999 after 1,500 steps, 0.999^1500 = 22 % of
  the random init is still in the average. :func:`ema_decay` ramps the decay up from 0 as
  ``min(decay, (1 + t) / (10 + t))`` (the warm-up used by TensorFlow's and timm's EMA), so early
  averages follow G closely and the init washes out;
- BatchNorm running statistics are not weights: G's statistics describe G's activations, not the
  averaged network's. :func:`recalibrate_batchnorm` re-estimates them for the EMA weights from
  fresh latents (a cumulative average, as in SWA's ``update_bn``), deterministically from a seed.
"""

from __future__ import annotations

import torch
from torch import nn


def ema_decay(decay: float, step: int) -> float:
    """The decay used at optimisation step ``step`` (0-based): ramps up to ``decay``."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema <- decay * ema + (1 - decay) * model`` for the parameters (buffers are left alone)."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1 - decay)


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, nz: int, *, batches: int = 16, batch_size: int = 64,
                          seed: int = 0) -> None:
    """Re-estimate every BatchNorm's running mean and variance for ``generator``'s current weights.

    Runs ``batches`` forward passes of ``batch_size`` latents ``N(0, I)`` (from ``seed``) in train
    mode with a cumulative average; leaves the module in eval mode. Does nothing without BatchNorm.
    """
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the batches below
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    generator.train()
    for _ in range(batches):
        generator(torch.randn(batch_size, nz, generator=rng).to(device))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    generator.eval()
