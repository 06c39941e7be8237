"""Choosing the torch device: ``"auto"`` means CUDA when present, else CPU."""

from __future__ import annotations

import torch

from marinegan.errors import ConfigError

DeviceLike = str | torch.device


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    """Return a concrete :class:`torch.device`.

    ``"auto"`` picks ``cuda`` when ``torch.cuda.is_available()``, otherwise ``cpu``.
    Asking for CUDA on a machine without it raises a clear error instead of failing later.
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {str(dev)!r} was requested but CUDA is not available on this machine; "
            "use device='auto' or device='cpu'"
        )
    return dev
