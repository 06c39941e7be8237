"""Per-index random streams: sample ``i`` of a set seeded ``seed`` depends on ``(seed, i)`` alone."""

from __future__ import annotations

import torch

_MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """One SplitMix64 step: a well-mixed 64-bit value from any integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def index_seed(seed: int, index: int, stream: int = 0) -> int:
    """A 63-bit seed for item ``index`` of stream ``stream`` (independent streams for latents, placement …)."""
    return splitmix64(splitmix64(splitmix64(seed) ^ index) ^ stream) >> 1


def index_generator(seed: int, index: int, stream: int = 0) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded for ``(seed, index, stream)``."""
    return torch.Generator().manual_seed(index_seed(seed, index, stream))
