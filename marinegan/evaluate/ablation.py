"""`ablate`: does synthetic data help a detector, and more than copy-paste? Arms x sizes x ratios x seeds, mAP on real.

The grid:

- **arms**: ``real`` (real frames only, the baseline) and one arm per synthetic source, e.g.
  ``copy-paste`` (:class:`CopyPasteArm`, real cut-outs) and ``gan`` (:class:`GanArm`, a generator);
- **sizes**: how many real training frames a run draws (seeded by the run's seed) from ``real_train``;
- **ratios**: the synthetic fraction of each synthetic arm's training set (real frames kept, synthetic
  added: ``mix_datasets(subset, synthetic, ratio)``);
- **seeds**: one run per seed; a seed fixes the real subset, the synthetic samples, the mix, the
  detector's initialisation and its data order, so arms are compared in pairs (same seed, same frames).

Synthetic samples are composited onto the run's own real frames (the frames' real boxes stay labelled),
so no arm sees a real frame the ``real`` arm does not. With ``steps`` every run takes the same number of
optimisation steps, whatever its training set's length: a mix must not win by training longer.

Each finished run is saved as ``runs/<arm>_n<size>_r<ratio>_s<seed>.json`` (atomically), so a stopped
ablation resumes where it stopped; ``ablation.json`` keeps the recipe and resuming with another recipe
is refused. Reports: ``runs.csv`` (a row per run), ``results.md`` (mean ± std over seeds, Δ against
``real`` with a 95 % interval from the per-seed pairs), ``ablation.png`` and ``curve.png`` (every run's
training loss, and its validation curve when one was asked for).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch.utils.data import Dataset, Subset
from tqdm.auto import tqdm

from marinegan.errors import ConfigError, DataError
from marinegan.evaluate.detection import (
    build_detector,
    check_detector,
    check_schedule,
    draw_predictions,
    evaluate_detector,
    preview_indices,
    train_detector,
    training_steps,
)
from marinegan.fileio import atomic_write
from marinegan.mix import mix_counts, mix_datasets
from marinegan.synth.composite import CompositeOptions
from marinegan.transforms import PASTE_OPTIONS

REAL = "real"
CUTOUT_SIDE = 64
"""The side in pixels of the cut-outs the copy-paste arms paste by default: the default generator's sprite side."""
SyntheticFactory = Callable[[Dataset, int, int], Dataset]
"""``factory(backgrounds, length, seed)``: ``length`` synthetic samples composited onto ``backgrounds``."""


def option_tag(options: CompositeOptions | None, extra: Mapping[str, object] | None = None) -> str:
    """``""`` for the default compositing, else the changed options, e.g. ``"[scale=0.2-0.7,blur_match]"``;
    ``extra`` adds other changed settings of an arm (``{"overlays": "mask"}``)."""
    default = CompositeOptions()
    changed = [(f, getattr(options, f)) for f in default.__dataclass_fields__
               if options is not None and getattr(options, f) != getattr(default, f)]
    changed += list((extra or {}).items())
    text = ",".join(f if v is True else f"{f}={'-'.join(f'{x:g}' for x in v) if isinstance(v, tuple) else v}"
                    for f, v in changed)  # a switch turned on reads as its name: [blur_match]
    return f"[{text}]" if text else ""


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short SHA-256 of tensors' contents: which weights or cut-outs an arm used, recorded with its recipe."""
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def source_fingerprint(source: object) -> str:
    """:func:`fingerprint` of what an arm draws from: a model's weights, or cut-outs' pixels."""
    if hasattr(source, "state_dict"):
        return fingerprint(*source.state_dict().values())
    return fingerprint(getattr(source, "images", source))


def own_frame_cutouts(backgrounds: Dataset, label: int | str | None, overlays: str = "skip",
                      side: int = CUTOUT_SIDE) -> Dataset:
    """The GrabCut cut-outs of ``label`` in a run's own frames (``object_crops(backgrounds, side, alpha="grabcut")``),
    what a user with only those frames can paste; a clear error when they hold none."""
    from marinegan.data import object_crops

    try:
        return object_crops(backgrounds, side, alpha="grabcut", label=label, overlays=overlays, progress=False)
    except DataError as error:
        raise DataError(f"the run's {len(backgrounds)} frames hold no object to cut out for own-frame copy-paste "
                        f"({error}); use more frames (--sizes) or another arm") from None


@dataclass
class GanArm:
    """Synthetic arm: a generator's objects (``"default"``, a folder, a Hub id or a Generator) on real frames."""

    generator: object = "default"
    label: int | str | None = None
    options: CompositeOptions | None = None
    device: str | torch.device = "auto"
    revision: str | None = None
    truncation: float | None = None  # latents within ±truncation (Generator.sample_latent); None: untruncated

    def __post_init__(self) -> None:
        from marinegan.hub import load_generator

        self.name = self.generator if isinstance(self.generator, str) else type(self.generator).__name__
        self.generator = load_generator(self.generator, device="cpu", revision=self.revision)

    def __call__(self, backgrounds: Dataset, length: int, seed: int) -> Dataset:
        from marinegan.synth import SyntheticPlasticDataset

        return SyntheticPlasticDataset(self.generator, length, backgrounds=backgrounds, seed=seed, label=self.label,
                                       options=self.options, device=self.device, materialize=True, progress=False,
                                       truncation=self.truncation)

    def describe(self) -> str:
        weights = source_fingerprint(self.generator) + _truncated(self.truncation)
        return f"gan:{self.name}@{self.revision or 'local'} weights {weights}:{self.options or CompositeOptions()}"


@dataclass
class CopyPasteArm:
    """Synthetic arm: real object cut-outs (``object_crops(..., alpha="grabcut")``) pasted on real frames.

    ``cutouts=None`` cuts them from each run's own frames (``object_crops(backgrounds, cutout_size,
    alpha="grabcut", label=label, overlays=overlays)``): what a user with only those frames can do without a
    generator, and so the baseline a generator pulled from the Hub must beat.
    """

    cutouts: Dataset | None = None
    label: int | str | None = None
    options: CompositeOptions | None = None
    source: str = "cut-outs"
    overlays: str = "skip"
    cutout_size: int = CUTOUT_SIDE  # with cutouts=None: the side of the run's own cut-outs

    def __call__(self, backgrounds: Dataset, length: int, seed: int) -> Dataset:
        from marinegan.synth import CopyPasteDataset

        cutouts = self.cutouts if self.cutouts is not None else own_frame_cutouts(backgrounds, self.label,
                                                                                  self.overlays, self.cutout_size)
        return CopyPasteDataset(cutouts, length, backgrounds=backgrounds, seed=seed, label=self.label,
                                options=self.options, materialize=True, progress=False)

    def describe(self) -> str:
        if self.cutouts is None:
            return f"copy-paste:the run's own frames (grabcut, overlays {self.overlays}{_side(self.cutout_size)}):" \
                   f"{self.options or CompositeOptions()}"
        pixels = source_fingerprint(self.cutouts) + _side(getattr(self.cutouts, "images", self.cutouts).shape[-1])
        return f"copy-paste:{len(self.cutouts)} {self.source} {pixels}:{self.options or CompositeOptions()}"


@dataclass
class FreshArm:
    """Synthetic arm of fresh objects: every epoch, new objects pasted onto the run's own frames.

    ``source`` is a generator (``"default"``, a folder, a Hub id: a bank of ``bank_size`` new objects per
    epoch) or cut-outs (one fixed bank; new draws and placements per epoch). Each synthetic item is a
    :class:`~marinegan.transforms.PastedDataset` item, composited live when read: the set holds as many
    items as a materialised arm, but a detector never sees the same composite twice. ``distractors``
    (cut-outs of other classes, e.g. ``object_crops(real, 64, alpha="grabcut", label="bio")``) adds 1 to
    ``max_distractors`` of them to each item, without boxes. ``cutouts`` (with a generator) puts real cut-outs beside
    each epoch's generated objects (``SpriteBank(cutouts=...)``): with ``bank_size = len(cutouts)`` half the pasted
    objects are real. ``own_frames=True`` ignores ``source`` and cuts the
    bank from each run's own frames (``object_crops(backgrounds, cutout_size, alpha="grabcut", label=label,
    overlays=overlays)``): fresh copy-paste with only the frames a user has, the baseline that
    :class:`CopyPasteArm` with ``cutouts=None`` is for fixed composites.
    """

    source: object = "default"
    label: int | str | None = None
    options: CompositeOptions | None = None
    bank_size: int = 512  # 0.8 s of a 64 px generator on one CPU thread, per epoch
    name: str = ""
    keep: float | None = None  # the realism filter (generators): the share kept, judged by `judge` (SpriteBank's)
    judge: object = None
    device: str | torch.device = "auto"  # where the main process generates each epoch's bank
    distractors: object = None  # cut-outs of other classes, pasted without boxes (PasteObjects' distractors)
    max_distractors: int = 2
    own_frames: bool = False
    overlays: str = "skip"  # with own_frames: object_crops' overlays
    cutout_size: int = CUTOUT_SIDE  # with own_frames: the side of the run's own cut-outs
    cutouts: object = None  # real cut-outs beside a generator's objects in every epoch's bank
    truncation: float | None = None  # a generator's latents within ±truncation (SpriteBank's)

    def __post_init__(self) -> None:
        from marinegan.transforms import SpriteBank

        if self.own_frames and (self.keep not in (None, 1) or self.judge is not None or self.cutouts is not None
                                or self.truncation is not None):
            raise ConfigError("FreshArm(own_frames=True) pastes the run's own cut-outs: the realism filter (keep, "
                              "judge), cutouts= and truncation= are for a generator's objects")
        self.bank = None if self.own_frames else SpriteBank(self.source, size=self.bank_size, keep=self.keep,
                                                             judge=self.judge, device=self.device,
                                                             cutouts=self.cutouts, truncation=self.truncation)
        self.distractor_bank = None if self.distractors is None else SpriteBank(self.distractors)
        if self.distractor_bank is not None and self.distractor_bank.fixed is None:
            raise ConfigError("FreshArm's distractors must be cut-outs (object_crops(...)), not a generator")
        self.keep = 1.0 if self.bank is None else self.bank.keep  # the default resolved: 0.75 with a judge, else 1
        if not self.name:
            self.name = "own frames" if self.own_frames else \
                self.source if isinstance(self.source, str) else type(self.source).__name__

    def __call__(self, backgrounds: Dataset, length: int, seed: int) -> Dataset:
        from marinegan.synth.dataset import resolve_label
        from marinegan.synth.placement import BoxSizes
        from marinegan.transforms import PastedDataset, PasteObjects, SpriteBank

        classes = list(getattr(backgrounds, "classes", []))
        label = resolve_label(classes, self.label)
        options = self.options or PASTE_OPTIONS
        sizes = BoxSizes.from_dataset(backgrounds, label) if options.scale == "data" else None
        if self.bank is None:
            bank = SpriteBank(own_frame_cutouts(backgrounds, label, self.overlays, self.cutout_size))
        elif self.bank.fixed is not None:
            bank = self.bank
        else:
            bank = SpriteBank(self.bank.generator, self.bank_size, seed, keep=self.keep, judge=self.judge,
                              device=self.device, cutouts=self.cutouts, truncation=self.truncation)
        paste = PasteObjects(bank, label, p=1.0, options=options, sizes=sizes, seed=seed,
                             distractors=self.distractor_bank, max_distractors=self.max_distractors)
        return PastedDataset(backgrounds, length, paste, seed=seed, classes=classes)

    def describe(self) -> str:
        if self.bank is None:
            what = f"the run's own frames (grabcut, overlays {self.overlays}{_side(self.cutout_size)})"
        elif self.bank.fixed is not None:
            what = fingerprint(self.bank.fixed) + _side(self.bank.fixed.shape[-1])
        else:
            what = f"{self.name} weights {source_fingerprint(self.bank.generator)}{_truncated(self.truncation)}"
        if self.keep < 1:
            what += f" the most realistic {self.keep:g} by {type(self.judge).__name__} {source_fingerprint(self.judge)}"
        if self.bank is not None and self.bank.cutouts is not None:
            what += f" beside {len(self.bank.cutouts)} cut-outs {fingerprint(self.bank.cutouts)}"
        if self.distractor_bank is not None:
            fixed = self.distractor_bank.fixed
            what += f" with 1-{self.max_distractors} of {len(fixed)} distractors {fingerprint(fixed)}"
        return f"fresh:{what} bank {self.bank_size}:{self.options or PASTE_OPTIONS}"


def _truncated(truncation: float | None) -> str:
    """A generator arm's truncated latents, for a recipe (untruncated recipes predate the option)."""
    return "" if truncation is None else f" latents within ±{truncation:g}"


def _side(side: int) -> str:
    """A cut-out side other than the default, for a recipe (the default's recipes predate the option)."""
    return "" if side == CUTOUT_SIDE else f", {side} px"


@dataclass
class AblationSettings:
    """The recipe every run of one ablation shares (a resumed ablation must use the same)."""

    detector: str = "fasterrcnn_mobilenet_v3_large_320_fpn"
    trainer: Literal["torchvision", "ultralytics"] = "torchvision"
    epochs: int = 1
    steps: int | None = None
    batch_size: int = 4
    lr: float = 0.01
    image_size: int | None = None
    pretrained_backbone: bool = False
    hflip: bool = True
    curve_every: int = 0
    ultralytics_model: str = "yolov8n.yaml"
    imgsz: int = 320
    val_size: int | None = None
    budget: Literal["equal", "real-epochs"] = "equal"
    warmup: int = 50
    clip_grad: float | None = None
    box_bias: float | None = None
    real_tail: float = 0.0


@dataclass
class AblationResult:
    out_dir: Path
    runs: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)


def run_name(arm: str, size: int, ratio: float, seed: int) -> str:
    return f"{arm}_n{size}_r{ratio:g}_s{seed}"


def real_subset(real: Dataset, size: int | None, seed: int) -> Dataset:
    """``size`` frames of ``real`` drawn without replacement (seeded); None or ``len(real)`` keeps them all."""
    if size is None or size == len(real):
        return real
    if not isinstance(size, int) or not 0 < size <= len(real):
        raise ConfigError(f"size={size!r} real frames: must be between 1 and the {len(real)} frames of the real set")
    return _seeded_subset(real, size, 10_000 + seed)


def _seeded_subset(dataset: Dataset, size: int, seed: int) -> Subset:
    """``size`` items of ``dataset`` drawn without replacement by ``seed``, in their order, keeping ``classes``."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    subset = Subset(dataset, sorted(order[:size].tolist()))
    subset.classes = list(getattr(dataset, "classes", []))
    return subset


VAL_SEED = 20_000


def validation_subset(real_val: Dataset, size: int | None) -> Dataset:
    """``size`` validation frames drawn once (seeded, the same for every run), for a quick look; None: all."""
    if size is None:
        return real_val
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"val_size={size!r} must be a positive number of validation frames")
    return real_val if size >= len(real_val) else _seeded_subset(real_val, size, VAL_SEED)


def _as_factory(source: Dataset | SyntheticFactory) -> SyntheticFactory:
    if callable(source) and not isinstance(source, Dataset):
        return source
    return lambda *_: source  # a fixed dataset: the mix draws from it


def check_ratios(ratios: Sequence[float], arms: bool = True) -> list[float]:
    """The synthetic ratios of an ablation, sorted, without 0 (the real arm's); each must be in (0, 1)."""
    out = sorted({float(r) for r in ratios} - {0.0})
    for r in out:
        if not 0 < r < 1:
            raise ConfigError(f"ratio={r} must be in (0, 1): the synthetic fraction of a mix that keeps its "
                              "real frames")
    if arms and not out:
        raise ConfigError("synthetic arms need at least one ratio in (0, 1)")
    return out


def _describe(source: object) -> str:
    """What an arm draws from, saved with the recipe (a resumed arm must draw from the same)."""
    if hasattr(source, "describe"):
        return source.describe()
    if isinstance(source, Dataset):
        return f"{type(source).__name__}({len(source)})"
    return repr(source)


def ablate(
    real_train: Dataset,
    real_val: Dataset,
    synthetic: Dataset | SyntheticFactory | Mapping[str, Dataset | SyntheticFactory] | None,
    ratios: Sequence[float] = (0.5,),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    sizes: Sequence[int | None] = (None,),
    detector: str = "fasterrcnn_mobilenet_v3_large_320_fpn",
    trainer: Literal["torchvision", "ultralytics"] = "torchvision",
    epochs: int = 1,
    steps: int | None = None,
    batch_size: int = 4,
    lr: float = 0.01,
    image_size: int | None = None,
    pretrained_backbone: bool = False,
    hflip: bool = True,
    curve_every: int = 0,
    ultralytics_model: str = "yolov8n.yaml",
    imgsz: int = 320,
    val_size: int | None = None,
    budget: Literal["equal", "real-epochs"] = "equal",
    warmup: int = 50,
    clip_grad: float | None = None,
    box_bias: float | None = None,
    real_tail: float = 0.0,
    jobs: int = 1,
    threads: int | None = None,
    baseline: bool = True,
    out_dir: str | Path = "ablation",
    device: str | torch.device = "auto",
    progress: bool = True,
) -> AblationResult:
    """Train one detector per (arm, size, ratio, seed) and score it with mAP on ``real_val`` only.

    Args:
        synthetic: the synthetic arms: ``{"gan": GanArm(...), "copy-paste": CopyPasteArm(...)}``; a single
            source is the arm ``"synthetic"``. A source is a factory ``(backgrounds, length, seed) -> Dataset``
            (composites onto the run's own real frames), or a fixed Dataset the mixes draw from. None:
            the ``real`` arm only.
        ratios: synthetic fractions of each synthetic arm (the ``real`` arm is ratio 0); 0.5 is the recipe's.
        seeds: one run per seed per cell.
        sizes: real training frames per run, drawn from ``real_train`` (seeded); None keeps them all.
        detector: a torchvision detection model name, or ``fcos_efficientnet_lite0`` (``[lite]`` extra).
        steps: optimisation steps per run (equal for every arm); None trains ``epochs`` passes.
        image_size: the detector's shorter image side (None: its default).
        pretrained_backbone: ImageNet backbone weights (see :func:`build_detector`).
        hflip: random left-right flips during training.
        curve_every: evaluate every run on ``real_val`` every this many steps (a validation curve that shows
            whether the baseline converged, and when an arm's run went wrong); 0: only at the end. Every run
            records its training loss (``loss`` in its JSON, drawn in ``curve.png``) either way.
        trainer: ``"torchvision"``, or ``"ultralytics"`` (each mix exported as YOLO and trained with
            ``ultralytics.YOLO(ultralytics_model)`` for ``epochs``; needs ``pip install ultralytics``).
        val_size: score on this many validation frames, drawn once (seeded) from ``real_val``, for a
            quick look (the report says so); None scores on every frame.
        budget: with ``steps``: ``"equal"`` trains every run for ``steps`` steps, so a mix sees each real frame
            less often than the real arm; ``"real-epochs"`` adds the synthetic samples on top: a mix trains
            for ``steps * len(mix) / len(real)`` steps, so each real frame is seen as often as in the real arm.
        warmup, clip_grad: the learning-rate warm-up steps and the gradient-norm clip of every run (see
            :func:`~marinegan.evaluate.train_detector`); part of the recipe, like ``lr``.
        box_bias: FCOS detectors' initial box-regression bias (see :func:`build_detector`); None: torchvision's.
        real_tail: the synthetic arms train the last ``real_tail`` of their steps on the run's real frames
            alone (a real-only fine-tune at the cosine's low learning rates, same steps in all); 0: the mix
            throughout. The real arm is unchanged.
        jobs: runs trained at once, each in its own process (the arms must be picklable: GanArm,
            CopyPasteArm, FreshArm, not lambdas). A finished run is saved as soon as it ends.
        threads: torch threads per run; None: ``cpu_count // jobs`` with several jobs, torch's default with
            one. On this project's 2-core machine, 2 jobs x 1 thread keep both cores busy without
            oversubscribing them. A run's last digits depend on its thread count.
        baseline: run the ``real`` arm. False adds arms to a folder whose real runs exist (or are being
            run by another process with the same recipe): Δ is computed against the folder's real runs.

    The reports cover every finished run in ``out_dir``, so arms added by later calls join the same table.
    """
    if trainer not in ("torchvision", "ultralytics"):
        raise ConfigError(f"trainer={trainer!r} must be 'torchvision' or 'ultralytics'")
    if trainer == "torchvision":
        check_detector(detector)
        if box_bias is not None and "fcos" not in detector:
            raise ConfigError(f"box_bias (--box-bias) sets FCOS's box-regression bias; {detector} is not an FCOS "
                              "model (use fcos_efficientnet_lite0, or leave box_bias out)")
    n_val = len(real_val)
    real_val = validation_subset(real_val, val_size)
    val_size = None if len(real_val) == n_val else val_size  # a size covering every frame is the whole set
    settings = AblationSettings(detector, trainer, epochs, steps, batch_size, lr, image_size, pretrained_backbone,
                                hflip, curve_every, ultralytics_model, imgsz, val_size, budget, warmup, clip_grad,
                                box_bias, real_tail)
    if trainer == "ultralytics" and (steps is not None or curve_every):
        raise ConfigError("steps= and curve_every= need trainer='torchvision' (ultralytics trains whole epochs)")
    if trainer == "ultralytics" and (clip_grad is not None or warmup != AblationSettings.warmup
                                     or box_bias is not None or real_tail):
        raise ConfigError("warmup=, clip_grad=, box_bias= and real_tail= need trainer='torchvision' (ultralytics "
                          "trains its own model with its own schedule)")
    if isinstance(real_tail, bool) or not 0 <= real_tail < 1:
        raise ConfigError(f"real_tail={real_tail!r} must be a share of the steps in [0, 1), e.g. 0.2 (--real-tail)")
    if steps is not None and steps < 1:
        raise ConfigError(f"steps={steps} must be a positive number of optimisation steps")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r} must be a positive number of runs at once")
    if threads is not None and threads < 1:
        raise ConfigError(f"threads={threads!r} must be a positive number of threads per run")
    check_schedule(warmup, clip_grad)
    if budget not in ("equal", "real-epochs"):
        raise ConfigError(f"budget={budget!r} must be 'equal' or 'real-epochs'")
    if budget != "equal" and steps is None:
        raise ConfigError("budget='real-epochs' scales steps=: give steps (epochs already see every real frame once)")
    if len(real_val) == 0:
        raise ConfigError("the real validation set is empty")
    classes = list(getattr(real_train, "classes", []))
    if len(classes) < 2:
        raise ConfigError("real_train must have class names (classes[0] == '__background__')")
    arms: dict[str, Dataset | SyntheticFactory] = (
        {} if synthetic is None else dict(synthetic) if isinstance(synthetic, Mapping) else {"synthetic": synthetic})
    if REAL in arms:
        raise ConfigError(f"{REAL!r} names the real-only baseline arm; give the synthetic arms other names")
    ratios = check_ratios(ratios, bool(arms))
    sizes = list(dict.fromkeys(len(real_train) if s is None else s for s in sizes))
    for s in sizes:
        real_subset(real_train, s, 0)  # validates every size up front

    out = Path(out_dir)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    _check_settings(out / "ablation.json", settings, {a: _describe(src) for a, src in arms.items()})

    plan = [(REAL, size, 0.0, seed) for seed in seeds for size in sizes] if baseline else []
    plan += [(arm, size, ratio, seed) for seed in seeds for size in sizes for arm in arms for ratio in ratios]
    plan.sort(key=lambda cell: (seeds.index(cell[3]), sizes.index(cell[1])))  # whole seeds first
    todo = [cell for cell in plan if not (out / "runs" / f"{run_name(*cell)}.json").is_file()]
    context = (real_train, real_val, classes, arms, settings, out, device)
    if jobs == 1:
        if threads is not None:
            torch.set_num_threads(threads)
        bar = tqdm(todo, desc="ablation runs", disable=not progress)
        for cell in bar:
            bar.set_postfix_str(run_name(*cell))
            _save(out, cell, _run(*context[:3], arms.get(cell[0]), *cell, *context[4:], progress))
    else:
        _run_parallel(todo, context, jobs, threads, progress)
    return report(out)


def _save(out: Path, cell: tuple, record: dict) -> None:
    path = out / "runs" / f"{run_name(*cell)}.json"
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2)))


_WORKER: tuple = ()  # what a --jobs worker process runs its cells with (set once per process)


def _start_worker(threads: int, context: tuple, parent: int) -> None:
    global _WORKER
    torch.set_num_threads(threads)
    _WORKER = context
    threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()


def _end_with_parent(parent: int) -> None:
    """End this --jobs worker when the ablation that started it is gone (killed, or stopped with Ctrl-C): only
    that process saves runs, so a worker left behind would train on, unsaved, and take the cores of a resumed one."""
    while os.getppid() == parent:  # the pid given, not read here: the parent may be gone before this runs
        time.sleep(1)
    os._exit(1)


def _run_cell(cell: tuple) -> dict:
    real_train, real_val, classes, arms, settings, out, device = _WORKER
    return _run(real_train, real_val, classes, arms.get(cell[0]), *cell, settings, out, device, False)


def _run_parallel(todo: list[tuple], context: tuple, jobs: int, threads: int | None, progress: bool) -> None:
    """Run cells in ``jobs`` processes of ``threads`` threads each (spawned: CUDA- and OpenCV-safe)."""
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    try:
        pickle.dumps(context[3])
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(f"jobs={jobs} runs the arms in other processes, so they must be picklable (a class such as "
                          f"GanArm or CopyPasteArm, not a lambda): {exc}") from None
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_start_worker,
                             initargs=(threads, context, os.getpid())) as pool:
        futures = {pool.submit(_run_cell, cell): cell for cell in todo}
        bar = tqdm(as_completed(futures), total=len(futures), desc=f"ablation runs ({jobs} jobs x {threads} threads)",
                   disable=not progress)
        for future in bar:
            _save(context[5], futures[future], future.result())
            bar.set_postfix_str(run_name(*futures[future]))


def report(out_dir: str | Path) -> AblationResult:
    """Read every finished run of an ablation folder and (re)write its ``runs.csv``, ``results.md`` and plots."""
    out = Path(out_dir)
    if not (out / "ablation.json").is_file():
        raise ConfigError(f"{out} is not an ablation folder (no ablation.json)")
    saved = json.loads((out / "ablation.json").read_text())
    settings = AblationSettings(**{k: v for k, v in saved.items() if k in AblationSettings.__dataclass_fields__})
    runs = [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
    summary = summarise(runs)
    if runs:
        write_reports(out, runs, summary, settings)
    return AblationResult(out, runs, summary)


def _check_settings(path: Path, settings: AblationSettings, arms: dict[str, str]) -> None:
    """Refuse to resume an ablation with another recipe, or an arm name with another source."""
    current = {**asdict(settings), "arms": arms}
    if path.exists() and any((path.parent / "runs").glob("*.json")):  # a recipe without finished runs may change
        # a setting added after the folder was made reads as its default (the folder used that behaviour)
        saved = {**asdict(AblationSettings()), **json.loads(path.read_text())}
        diff = sorted(k for k in current if k != "arms" and saved.get(k) != current[k])
        changed = sorted(a for a in arms if a in saved.get("arms", {}) and saved["arms"][a] != arms[a])
        if diff or changed:
            what = ", ".join([*diff, *(f"arm {a!r}" for a in changed)])
            raise ConfigError(f"{path.parent} holds an ablation with another recipe ({what}); use a new out_dir, "
                              "or the same settings to resume it")
        current["arms"] = {**saved.get("arms", {}), **arms}
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(current, indent=2)))


def _run(real_train: Dataset, real_val: Dataset, classes: list[str], source: Dataset | SyntheticFactory | None,
         arm: str, size: int, ratio: float, seed: int, settings: AblationSettings, out: Path,
         device: str | torch.device, progress: bool) -> dict:
    """One cell and seed: build its training set, train a detector, score it on the real validation set."""
    t0 = time.perf_counter()
    real = real_subset(real_train, size, seed)
    synthetic = None
    if source is not None:
        synthetic = _as_factory(source)(real, mix_counts(len(real), ratio, None)[1], seed)
    mix = mix_datasets(real, synthetic, ratio, seed=seed)
    record: dict = {"arm": arm, "size": size, "ratio": ratio, "seed": seed, **mix.counts()}
    if settings.trainer == "ultralytics":
        from marinegan.evaluate.yolo_trainer import train_and_evaluate_yolo

        scores = train_and_evaluate_yolo(mix, real_val, classes, out / "runs" / run_name(arm, size, ratio, seed),
                                         out / "val_yolo", settings, seed, device)
        return {**record, **scores, "seconds": round(time.perf_counter() - t0, 2)}
    torch.manual_seed(seed)
    model = build_detector(settings.detector, len(classes), pretrained_backbone=settings.pretrained_backbone,
                           min_size=settings.image_size, box_bias=settings.box_bias)
    curve: list[dict] = []

    steps = settings.steps
    if steps is not None and settings.budget == "real-epochs":
        steps = round(steps * len(mix) / len(real))  # synthetic samples on top: each real frame seen as often
    total = training_steps(len(mix), settings.batch_size, settings.epochs, steps)

    def score(step: int, m: torch.nn.Module) -> None:
        if step >= total:
            return  # the final evaluation below is the curve's last point
        s = evaluate_detector(m, real_val, classes, batch_size=settings.batch_size, device=device, progress=False)
        curve.append({"step": step, "map_50": s["map_50"], "map": s["map"]})

    tail_steps = round(total * settings.real_tail) if synthetic is not None else 0
    losses: list[float] = []
    train_detector(model, mix, epochs=settings.epochs, steps=steps, batch_size=settings.batch_size,
                   lr=settings.lr, warmup=settings.warmup, clip_grad=settings.clip_grad, hflip=settings.hflip,
                   seed=seed, device=device, progress=progress,
                   on_step=score if settings.curve_every else None, every=settings.curve_every, loss_log=losses,
                   tail=real if tail_steps else None, tail_steps=tail_steps)
    scores = evaluate_detector(model, real_val, classes, batch_size=settings.batch_size, device=device,
                               progress=progress)
    record["steps"] = steps
    if tail_steps:
        record["real_tail_steps"] = tail_steps
    record["loss"] = loss_windows(losses)
    frames = preview_indices(real_val)  # what this run's detector does on validation frames, beside its JSON
    if frames:
        draw_predictions(model, real_val, frames, out / "runs" / f"{run_name(arm, size, ratio, seed)}.png",
                         device=device)
    if curve:
        record["curve"] = [*curve, {"step": total, "map_50": scores["map_50"], "map": scores["map"]}]
    return {**record, **scores, "seconds": round(time.perf_counter() - t0, 2)}


def loss_windows(losses: Sequence[float], windows: int = 20) -> list[dict]:
    """A run's training loss as at most ``windows`` points: each the mean, min and max of a stretch of steps.

    ``step`` is the stretch's last step (1-based). A collapse shows as a mean that climbs or a max far above it.
    """
    n = len(losses)
    if n == 0:
        return []
    size = math.ceil(n / windows)
    out = []
    for start in range(0, n, size):
        part = losses[start:start + size]
        out.append({"step": start + len(part), "mean": round(statistics.fmean(part), 5),
                    "min": round(min(part), 5), "max": round(max(part), 5)})
    return out


# Two-sided 95 % quantiles of Student's t by degrees of freedom (1.96 beyond the table).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t_quantile(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (conservative between table rows)."""
    if df < 1:
        return math.nan
    return _T975[max(k for k in _T975 if k <= df)] if df <= 30 else 1.96


def paired_interval(deltas: Sequence[float]) -> tuple[float, float, float]:
    """Mean of per-seed differences and its 95 % t interval ``(mean, low, high)`` (NaN bounds for one pair)."""
    mean = statistics.fmean(deltas)
    if len(deltas) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(len(deltas) - 1) * statistics.stdev(deltas) / math.sqrt(len(deltas))
    return mean, mean - half, mean + half


METRICS = (("map_50", "mAP@50"), ("map", "mAP@50:95"))


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (arm, size, ratio): mean ± std over seeds and Δ against ``real`` (same size, paired by seed)."""
    rows = []
    keys = sorted({(r["arm"] != REAL, r["arm"], r["size"], r["ratio"]) for r in runs})
    for _, arm, size, ratio in keys:
        group = {r["seed"]: r for r in runs if (r["arm"], r["size"], r["ratio"]) == (arm, size, ratio)}
        base = {r["seed"]: r for r in runs if (r["arm"], r["size"]) == (REAL, size)}
        row = {"arm": arm, "size": size, "ratio": ratio, "runs": len(group),
               "real": round(statistics.fmean(r["real"] for r in group.values())),
               "synthetic": round(statistics.fmean(r["synthetic"] for r in group.values()))}
        for key, _ in METRICS:
            values = [r[key] for r in group.values()]
            row[f"{key}_mean"] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
            pairs = [group[s][key] - base[s][key] for s in group if s in base]
            row[f"{key}_delta"], row[f"{key}_low"], row[f"{key}_high"] = (
                paired_interval(pairs) if pairs and arm != REAL else (math.nan,) * 3)
            row["pairs"] = len(pairs) if arm != REAL else 0
        counted = [r["false_boxes"] for r in group.values() if "false_boxes" in r]  # runs from before lack it
        for where in ("on_ignored", "elsewhere"):
            row[f"false_{where}"] = statistics.fmean(f[where] for f in counted) if counted else math.nan
        found = [r["found"] for r in group.values() if "found" in r]
        row["found"] = statistics.fmean(found) if found else math.nan
        rows.append(row)
    return rows


def _fmt_delta(row: dict, key: str) -> str:
    if row["arm"] == REAL:
        return "baseline"
    if math.isnan(row[f"{key}_delta"]):
        return "–"
    interval = "" if math.isnan(row[f"{key}_low"]) else f" [{row[f'{key}_low']:+.3f}, {row[f'{key}_high']:+.3f}]"
    return f"{row[f'{key}_delta']:+.3f}{interval}"


def _fmt_mean(row: dict, key: str) -> str:
    """``mean ± std`` over seeds; one seed has no spread to show, so its value stands alone."""
    if row["runs"] < 2:
        return f"{row[f'{key}_mean']:.3f}"
    return f"{row[f'{key}_mean']:.3f} ± {row[f'{key}_std']:.3f}"


def _fmt_false(row: dict) -> str:
    """The share of labelled boxes a confident box finds, and the mean confident false boxes per validation
    frame (``evaluate_detector``'s ``found`` and ``false_boxes``); – for runs from before they were counted."""
    a, b = row.get("false_on_ignored", math.nan), row.get("false_elsewhere", math.nan)
    found = row.get("found", math.nan)
    return ("–" if math.isnan(found) else f"{found:.2f}") + "; " + ("–" if math.isnan(a) else f"{a:.2f} + {b:.2f}")


def results_table(summary: list[dict]) -> list[str]:
    """The Markdown table of :func:`summarise`'s rows."""
    lines = ["| arm | real frames | ratio | synthetic | seeds | mAP@50 | Δ mAP@50 [95 % CI] | mAP@50:95 | "
             "Δ mAP@50:95 [95 % CI] | boxes scoring ≥ 0.3: plastic found; false / frame on ignored + elsewhere |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in sorted(summary, key=lambda s: (s["size"], s["arm"] != REAL, s["arm"], s["ratio"])):
        lines.append(f"| {s['arm']} | {s['real']} | {s['ratio']:g} | {s['synthetic']} | {s['runs']} | "
                     f"{_fmt_mean(s, 'map_50')} | {_fmt_delta(s, 'map_50')} | "
                     f"{_fmt_mean(s, 'map')} | {_fmt_delta(s, 'map')} | {_fmt_false(s)} |")
    return lines


def write_reports(out: Path, runs: list[dict], summary: list[dict], settings: AblationSettings) -> None:
    """``runs.csv``, ``results.md``, ``ablation.png`` and (with loss or validation curves) ``curve.png`` in ``out``."""
    classes = sorted({c for r in runs for c in r.get("per_class", {})})
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arm", "size", "ratio", "seed", "real", "synthetic", "steps", "map50", "map50_95", "map75",
                    *[f"map50_95_{c}" for c in classes], "found", "false_on_ignored", "false_elsewhere", "seconds"])
        for r in sorted(runs, key=lambda r: (r["size"], r["arm"] != REAL, r["arm"], r["ratio"], r["seed"])):
            w.writerow([r["arm"], r["size"], r["ratio"], r["seed"], r["real"], r["synthetic"], r.get("steps") or "",
                        f"{r['map_50']:.4f}", f"{r['map']:.4f}", f"{r.get('map_75', math.nan):.4f}",
                        *[f"{r.get('per_class', {}).get(c, math.nan):.4f}" for c in classes],
                        f"{r.get('found', math.nan):.4f}",
                        *[f"{r.get('false_boxes', {}).get(k, math.nan):.3f}" for k in ("on_ignored", "elsewhere")],
                        r["seconds"]])
    what = settings.detector if settings.trainer == "torchvision" else f"ultralytics {settings.ultralytics_model}"
    budget = f"{settings.steps} steps" if settings.steps else f"{settings.epochs} epoch(s)"
    schedule = ""
    if settings.trainer == "torchvision":
        schedule = f", lr {settings.lr:g} (warm-up: {settings.warmup} steps, at most a tenth of the run)"
        if settings.clip_grad:
            schedule += f", gradient norm clipped to {settings.clip_grad:g}"
        if settings.box_bias is not None:
            schedule += f", box-regression bias starting at {settings.box_bias:g}"
        if settings.real_tail:
            schedule += (f"; the synthetic arms train their last {settings.real_tail:g} of the steps on the real "
                         "frames alone")
    if settings.steps and settings.budget == "real-epochs":
        budget += " for the real arm, and as many more for a mix as it has synthetic samples on top (each real " \
                  "frame seen as often)"
    lines = [
        "# Real/synthetic ablation",
        "",
        f"Detector: {what}, {budget}, batch {settings.batch_size}, image size {settings.image_size or 'default'}, "
        f"{'pretrained' if settings.pretrained_backbone else 'random'} backbone{schedule}. mAP on the real "
        "validation set "
        "only" + (f", **on {settings.val_size} of its frames** (a seeded subset, val_size / --val-size: a quick look, "
                  "not the whole set)" if settings.val_size else "") +
        "; mean ± std over seeds (a single seed shows its value alone); Δ against the real-only arm of the "
        "same size, paired by seed, with a 95 % t interval. Boxes scoring 0.3 or more (what the run's picture "
        "draws): the share of labelled boxes one of them finds (IoU 0.5), and per validation frame those that "
        "match no labelled box, mostly inside an ignored box (overlays and other --ignore classes) + elsewhere "
        "(means over seeds).",
        "",
        *results_table(summary),
    ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot_ablation(summary, out / "ablation.png", what)
    if any("curve" in r or r.get("loss") for r in runs):
        plot_curves(runs, out / "curve.png")


def plot_ablation(summary: list[dict], path: Path, title: str) -> Path:
    """mAP@50 and mAP@50:95 against the synthetic ratio: one line per arm, one column per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({s["size"] for s in summary})
    arms = sorted({s["arm"] for s in summary} - {REAL})
    fig, axes = plt.subplots(len(METRICS), len(sizes), figsize=(4.6 * len(sizes) + 1.5, 6.8), squeeze=False)
    for col, size in enumerate(sizes):
        base = next((s for s in summary if s["arm"] == REAL and s["size"] == size), None)
        for row, (key, label) in enumerate(METRICS):
            ax = axes[row][col]
            if base:
                mean, std = base[f"{key}_mean"], base[f"{key}_std"]
                ax.axhspan(mean - std, mean + std, color="0.85", label="real only (± std)")
                ax.axhline(mean, color="0.4", lw=1)
            for arm in arms:
                cells = sorted((s for s in summary if s["arm"] == arm and s["size"] == size), key=lambda s: s["ratio"])
                x = [0.0, *[s["ratio"] for s in cells]] if base else [s["ratio"] for s in cells]
                y = ([base[f"{key}_mean"]] if base else []) + [s[f"{key}_mean"] for s in cells]
                e = ([base[f"{key}_std"]] if base else []) + [s[f"{key}_std"] for s in cells]
                ax.errorbar(x, y, yerr=e, marker="o", capsize=4, label=arm)
            ax.set_title(f"{size} real frames", fontsize=10)
            ax.set_xlabel("synthetic fraction of the training set")
            ax.set_ylabel(f"{label} on real validation")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Does synthetic data help?\n{title}; mean ± std over seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(runs: list[dict], path: Path) -> Path:
    """Training loss of every run and, where scored mid-way, validation mAP@50 against step; a colour per arm.

    Shows whether the baseline converged at the budget, and which run of which arm went wrong and when.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: (r["arm"] != REAL, r["arm"], r["size"], r["ratio"], r["seed"]))
    arms = list(dict.fromkeys(r["arm"] for r in runs))
    # (record key, value in each point, title); a validation curve starts from mAP 0 at step 0
    panels = [(key, name, title) for key, name, title in (
        ("loss", "mean", "training loss (mean of each stretch of steps)"),
        ("curve", "map_50", "mAP@50 on real validation")) if any(key in r for r in runs)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3.2 * len(panels)), squeeze=False)
    for ax, (key, name, title) in zip(axes[:, 0], panels, strict=True):
        labelled: set[str] = set()
        for r in runs:
            if key not in r:
                continue
            start = [(0, 0.0)] if key == "curve" else []
            steps, values = zip(*start, *((p["step"], p[name]) for p in r[key]), strict=True)
            colour = f"C{arms.index(r['arm']) % 10}"
            ax.plot(steps, values, "-", marker="." if key == "curve" else None, color=colour, lw=1, alpha=0.8,
                    label=None if r["arm"] in labelled else r["arm"])
            labelled.add(r["arm"])
            ax.annotate(f"s{r['seed']}", (steps[-1], values[-1]), fontsize=6, color=colour,
                        xytext=(2, 0), textcoords="offset points", va="center")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("optimisation step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Every run, a line each (sN: its seed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
