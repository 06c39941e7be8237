"""Detectors for the ablation: train a torchvision model on a (mixed) set, score it with mAP on real images."""

from __future__ import annotations

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from marinegan.device import resolve_device
from marinegan.errors import ConfigError, WeightsError
from marinegan.mix import detection_collate


def build_detector(name: str, num_classes: int, *, pretrained_backbone: bool = False) -> nn.Module:
    """A torchvision detection model by name (e.g. ``fasterrcnn_mobilenet_v3_large_320_fpn``), random head.

    ``pretrained_backbone=True`` uses torchvision's ImageNet backbone weights, which must already be in
    ``$TORCH_HOME/hub/checkpoints`` on a machine without internet.
    """
    if name not in torchvision.models.list_models(module=torchvision.models.detection):
        raise ConfigError(f"unknown detector {name!r}; choose from "
                          f"{torchvision.models.list_models(module=torchvision.models.detection)}")
    try:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes,
                                            weights_backbone="DEFAULT" if pretrained_backbone else None)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise WeightsError(f"the ImageNet backbone weights of {name} are not in $TORCH_HOME/hub/checkpoints and "
                           f"cannot be downloaded here ({exc}); copy them there or use pretrained_backbone=False") \
            from None


def train_detector(
    model: nn.Module,
    dataset: Dataset,
    *,
    epochs: int = 1,
    batch_size: int = 4,
    lr: float = 0.01,
    seed: int = 0,
    device: str | torch.device = "auto",
    num_workers: int = 0,
    progress: bool = True,
) -> nn.Module:
    """Plain SGD training (momentum 0.9, weight decay 1e-4) of a torchvision detector; returns it in eval mode."""
    dev = resolve_device(device)
    model.to(dev).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=detection_collate,
                        num_workers=num_workers, generator=torch.Generator().manual_seed(seed))
    for epoch in range(epochs):
        for images, targets in tqdm(loader, desc=f"detector epoch {epoch + 1}/{epochs}", disable=not progress,
                                    leave=False):
            images = [im.to(dev) for im in images]
            targets = [{"boxes": t["boxes"].to(dev), "labels": t["labels"].to(dev)} for t in targets]
            loss = sum(model(images, targets).values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"detector loss became {loss.item()}; lower lr (now {lr})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


@torch.no_grad()
def evaluate_detector(
    model: nn.Module,
    dataset: Dataset,
    classes: list[str],
    *,
    batch_size: int = 4,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> dict:
    """mAP of ``model`` on ``dataset`` with ``torchmetrics.detection.MeanAveragePrecision`` (COCO protocol).

    Returns ``map``, ``map_50``, ``map_75`` and ``per_class`` (class name to mAP; -1 where a class is absent).
    """
    from torchmetrics.detection import MeanAveragePrecision

    dev = resolve_device(device)
    model.to(dev).eval()
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=detection_collate)
    for images, targets in tqdm(loader, desc="evaluating", disable=not progress, leave=False):
        preds = model([im.to(dev) for im in images])
        metric.update(
            [{k: p[k].detach().cpu() for k in ("boxes", "scores", "labels")} for p in preds],
            [{"boxes": torch.as_tensor(t["boxes"]).float().cpu(), "labels": torch.as_tensor(t["labels"]).cpu()}
             for t in targets],
        )
    result = metric.compute()
    per_class = {}
    ids = result["classes"].reshape(-1).tolist()
    values = result["map_per_class"].reshape(-1).tolist()
    for cid, value in zip(ids, values, strict=True):
        per_class[classes[int(cid)] if 0 <= int(cid) < len(classes) else str(cid)] = float(value)
    return {"map": float(result["map"]), "map_50": float(result["map_50"]), "map_75": float(result["map_75"]),
            "per_class": per_class}
