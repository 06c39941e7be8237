"""Generator quality: FID and KID (torchmetrics / torch-fidelity) and precision/recall (Kynkäänniemi et al. 2019).

Images are compared as uint8 RGB. RGBA object generators are compared with RGBA object crops,
both flattened onto the same grey. Without internet the Inception weights must be a local file
(``inception_weights=``); any ``nn.Module`` mapping uint8 ``(N, 3, H, W)`` to ``(N, D)`` features
(with a ``num_features`` attribute) can stand in for Inception.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from marinegan.device import resolve_device
from marinegan.errors import ConfigError, WeightsError
from marinegan.images import flatten_alpha, to_uint8
from marinegan.models.dcgan import Generator
from marinegan.train.prepare import prepare_images

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"


def _cached_inception() -> Path | None:
    hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    path = hub / INCEPTION_FILE
    return path if path.is_file() else None


def inception_extractor(weights: str | Path | None = None) -> nn.Module:
    """torch-fidelity's FID Inception-v3 (2048-d pool features) from a local weights file.

    The file is read here with ``torch.load(weights_only=True)`` (or safetensors), so nothing is
    unpickled; torch-fidelity then gets a copy holding only those tensors.
    """
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
        from torchmetrics.utilities.imports import _TORCH_FIDELITY_AVAILABLE
    except ImportError:
        _TORCH_FIDELITY_AVAILABLE = False
    if not _TORCH_FIDELITY_AVAILABLE:
        raise ConfigError("FID/KID with Inception needs torchmetrics and torch-fidelity: "
                          "pip install 'marinegan[metrics]'")
    path = Path(weights) if weights is not None else _cached_inception()
    if path is None or not path.is_file():
        raise WeightsError(
            f"Inception weights not found{f' at {path}' if weights is not None else ''}. This machine cannot download "
            f"them: fetch {INCEPTION_URL} elsewhere and pass its path (--inception-weights PATH), or put "
            f"{INCEPTION_FILE} in $TORCH_HOME/hub/checkpoints/."
        )
    fix = f"pass torch-fidelity's {INCEPTION_FILE} ({INCEPTION_URL})"
    state = _read_tensors(path, fix)
    with tempfile.TemporaryDirectory() as tmp:
        safe_copy = Path(tmp) / INCEPTION_FILE
        torch.save(state, safe_copy)
        try:
            return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=str(safe_copy))
        except RuntimeError as exc:
            raise WeightsError(f"{path} does not hold torch-fidelity's Inception-v3 weights "
                               f"({_state_dict_mismatch(str(exc))}); {fix}") from None


def _read_tensors(path: Path, fix: str) -> dict[str, torch.Tensor]:
    """A file's ``{name: tensor}`` read without unpickling anything but tensors; one line for any problem."""
    import pickle

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(f"{path} holds pickled objects other than tensors, and marinegan never unpickles "
                           f"objects (it reads weights as plain tensors only); {fix}") from None
    except Exception as exc:  # junk, truncated or another format: torch's and safetensors' messages vary
        raise WeightsError(f"{path} is not a PyTorch or safetensors weights file ({type(exc).__name__}); "
                           f"{fix}") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a dictionary of named tensors; {fix}")
    return dict(state)


def _state_dict_mismatch(message: str) -> str:
    """``load_state_dict``'s error (every key, kilobytes of it) as counts and the first key of each kind."""
    import re

    parts = []
    for kind, label in (("Missing", "missing"), ("Unexpected", "unexpected")):
        found = re.search(rf"{kind} key\(s\) in state_dict: (.*?)(?:\.\s*\n|\.\s*$|\n)", message, re.S)
        if found:
            keys = re.findall(r'"([^"]+)"', found.group(1))
            if keys:
                parts.append(f"{len(keys)} {label} tensors, e.g. {keys[0]!r}")
    if "size mismatch" in message:
        parts.append(f"{message.count('size mismatch')} tensors of the wrong shape")
    return "; ".join(parts) or message.strip().splitlines()[0][:200]


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets ``(N, D)`` and ``(M, D)``.

    Precision: share of fake features inside the union of k-NN balls around real features;
    recall: share of real features inside the k-NN balls around fake features.
    """
    def radii(x: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(x, x)
        return d.kthvalue(k + 1, dim=1).values  # +1 skips the point itself

    def coverage(ref: torch.Tensor, ref_r: torch.Tensor, query: torch.Tensor) -> float:
        return (torch.cdist(query, ref) <= ref_r[None, :]).any(dim=1).double().mean().item()

    if min(len(real), len(fake)) <= k:
        raise ConfigError(f"precision/recall with k={k} needs more than {k} samples per set")
    return coverage(real, radii(real), fake), coverage(fake, radii(fake), real)


def quality_metrics(
    generator: Generator,
    real: Dataset,
    *,
    n: int = 1000,
    seed: int = 0,
    inception_weights: str | Path | None = None,
    feature_extractor: nn.Module | None = None,
    device: str | torch.device = "auto",
    batch_size: int = 64,
    k: int = 3,
) -> dict[str, float]:
    """FID, KID (mean and std) and precision/recall of ``generator`` against ``real``.

    Args:
        generator: the generator to judge (RGB: against whole images; RGBA: against ``real``'s object crops).
        real: the real dataset (readers' ``(image, target)`` items, or a :class:`CropDataset`).
        n: generated images (and at most that many real ones).
        inception_weights: local torch-fidelity Inception file (see :func:`inception_extractor`).
        feature_extractor: a module to use instead of Inception.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    dev = resolve_device(device)
    cfg = generator.config
    if cfg.channels == 4 and not hasattr(real, "images"):
        from marinegan.data.crops import object_crops

        real = object_crops(real, size=cfg.image_size, alpha=True, progress=False)
    real_images = prepare_images(real, cfg.image_size, cfg.channels, progress=False)
    real_images = flatten_alpha(real_images[torch.randperm(len(real_images),
                                                            generator=torch.Generator().manual_seed(seed))[:n]])
    fake_images = flatten_alpha(to_uint8(generator.generate(n, seed=seed)))
    extractor = (feature_extractor or inception_extractor(inception_weights)).to(dev).eval()
    subset = min(len(real_images), len(fake_images), 1000)
    fid = FrechetInceptionDistance(feature=extractor).to(dev)
    kid = KernelInceptionDistance(feature=extractor, subset_size=subset, subsets=50).to(dev)
    for i in range(0, len(real_images), batch_size):
        fid.update(real_images[i : i + batch_size].to(dev), real=True)
        kid.update(real_images[i : i + batch_size].to(dev), real=True)
    for i in range(0, len(fake_images), batch_size):
        fid.update(fake_images[i : i + batch_size].to(dev), real=False)
        kid.update(fake_images[i : i + batch_size].to(dev), real=False)
    kid_mean, kid_std = kid.compute()
    real_f = torch.cat(kid.real_features).double().cpu().flatten(1)
    fake_f = torch.cat(kid.fake_features).double().cpu().flatten(1)
    precision, recall = precision_recall(real_f, fake_f, k=k)
    return {"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std),
            "precision": precision, "recall": recall, "n_real": len(real_images), "n_fake": len(fake_images)}
