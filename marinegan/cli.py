"""The ``marinegan`` command line: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from marinegan.errors import MarineganError

app = typer.Typer(
    help="marinegan: synthetic marine-plastic images from GANs, mixed into real detection datasets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ModelArg = Annotated[str, typer.Argument(help="'default', a save_pretrained directory, or a Hub repo id org/name")]
RevisionOpt = Annotated[str | None, typer.Option(help="Hub branch, tag or commit to pin")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N")]


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
    out: Annotated[Path, typer.Option(help="PNG grid to write")] = Path("grid.png"),
    images_dir: Annotated[Path | None, typer.Option(help="also write each image as a PNG here")] = None,
    nrow: Annotated[int, typer.Option(help="images per grid row")] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Generate N images from a generator and write them as a PNG grid."""
    from marinegan.hub import load_generator
    from marinegan.images import save_grid, to_pil

    g = load_generator(model, device=device, revision=revision)
    images = g.generate(n, seed=seed, batch_size=batch_size)
    save_grid(images, out, nrow=nrow)
    if images_dir is not None:
        images_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            to_pil(image).save(images_dir / f"{i:06d}.png")
    typer.echo(f"wrote {n} images from {model} (seed {seed}) to {out}" + (f" and {images_dir}/" if images_dir else ""))


@app.command()
def train(
    data: Annotated[str | None, typer.Argument(help="YOLO folder, COCO JSON or image folder")] = None,
    out: Annotated[Path | None, typer.Option(help="run folder for checkpoints and artefacts")] = None,
    resume: Annotated[Path | None, typer.Option(help="continue the run in this folder (DATA not needed)")] = None,
    split: Annotated[str | None, typer.Option(help="YOLO split, e.g. train")] = None,
    crops: Annotated[bool, typer.Option(help="train on object crops cut from the boxes, not whole images")] = False,
    image_size: Annotated[int, typer.Option(help="32, 64 or 128")] = 64,
    channels: Annotated[int, typer.Option(help="3 (RGB) or 4 (RGBA object crops, needs --crops)")] = 3,
    nz: int = 100,
    ngf: int = 64,
    ndf: int = 64,
    spectral_norm: Annotated[bool, typer.Option(help="spectral norm in D")] = False,
    steps: Annotated[int | None, typer.Option(help="optimisation steps [default: 1000]")] = None,
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
    on_error: Annotated[str, typer.Option(help="raise or skip broken images/labels")] = "raise",
    device: DeviceOpt = "auto",
) -> None:
    """Train a DCGAN on a dataset; writes metrics, loss.png, progress.gif, real_vs_fake.png and generator/."""
    import json

    from marinegan.models.config import DCGANConfig
    from marinegan.train import TrainConfig, train_gan

    if resume is not None:
        run_dir = resume
        try:
            source = json.loads((run_dir / "source.json").read_text())
            cfg = TrainConfig.from_dict(json.loads((run_dir / "train_config.json").read_text()))
        except FileNotFoundError:
            raise typer.BadParameter(f"{run_dir} holds no marinegan training run to resume") from None
        if steps is not None:
            cfg.steps = steps
    else:
        if data is None or out is None:
            raise typer.BadParameter("give DATA and --out RUN_DIR (or --resume RUN_DIR)")
        run_dir = out
        source = {"data": str(Path(data).resolve()), "split": split, "crops": crops, "on_error": on_error}
        cfg = TrainConfig(
            model=DCGANConfig(image_size=image_size, channels=channels, nz=nz, ngf=ngf, ndf=ndf,
                              spectral_norm=spectral_norm),
            steps=steps or 1000, batch_size=batch_size, lr=lr, loss=loss, diffaugment=diffaugment, ema=ema,
            seed=seed, sample_every=sample_every, checkpoint_every=checkpoint_every, log_every=log_every, amp=amp,
        )
    if resume is None and (run_dir / "train_config.json").exists():
        raise typer.BadParameter(f"{run_dir} already holds a run; use --resume {run_dir} or a new --out")
    dataset, description = _training_data(source, cfg.model.image_size, cfg.model.channels)
    run_dir.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        (run_dir / "source.json").write_text(json.dumps(source, indent=2))
    train_gan(dataset, cfg, run_dir, resume=resume is not None, device=device, loggers=log or [],
              data_description=description)


def _synthetic_for(real, model: str, length: int, *, label: str | None, seed: int, mode: str | None,
                   device: str, revision: str | None, batch_size: int = 256):
    from marinegan.hub import load_generator
    from marinegan.synth import SyntheticPlasticDataset

    g = load_generator(model, device="cpu", revision=revision)
    mode = mode or ("composite" if real is not None and g.config.channels == 4 else "scene")
    kwargs = {"backgrounds": real} if mode == "composite" else {}
    if mode == "scene" and real is not None:
        kwargs["classes"] = real.classes
    return SyntheticPlasticDataset(g, length, mode=mode, seed=seed, device=device, label=label, batch_size=batch_size,
                                   **kwargs)


LabelOpt = Annotated[str | None, typer.Option(help="class name of the generated objects (when there are several)")]
FormatOpt = Annotated[str, typer.Option(help="yolo, coco or folder")]


@app.command()
def export(
    model: ModelArg = "default",
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="number of synthetic samples")] = 1000,
    format: FormatOpt = "yolo",
    out: Annotated[Path, typer.Option(help="new folder to write")] = Path("synthetic"),
    backgrounds: Annotated[str | None, typer.Option(help="dataset whose images are the backgrounds")] = None,
    mode: Annotated[str | None, typer.Option(help="composite or scene [default: composite with backgrounds]")] = None,
    label: LabelOpt = None,
    seed: int = 0,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Write N synthetic samples as a YOLO, COCO or ImageFolder dataset."""
    from marinegan.data import open_dataset
    from marinegan.export import attribution_files, export_dataset

    real = open_dataset(backgrounds) if backgrounds else None
    synthetic = _synthetic_for(real, model, n, label=label, seed=seed, mode=mode, device=device, revision=revision,
                               batch_size=batch_size)
    description = f"{n} synthetic samples from generator {model!r} (seed {seed}, mode {synthetic.mode})" + (
        f" on backgrounds from {backgrounds}" if backgrounds else "") + ", made with marinegan."
    export_dataset(synthetic, out, format, attribution=attribution_files(backgrounds), description=description)
    typer.echo(f"wrote {n} synthetic samples ({synthetic.mode}) as {format} to {out}")


@app.command()
def mix(
    real: Annotated[str, typer.Argument(help="real dataset: YOLO folder, COCO JSON or image folder")],
    model: ModelArg = "default",
    ratio: Annotated[float, typer.Option(help="fraction of synthetic samples, in [0, 1]")] = 0.3,
    out: Annotated[Path, typer.Option(help="new folder to write")] = Path("mixed"),
    format: FormatOpt = "yolo",
    size: Annotated[int | None, typer.Option(help="total size (default: every real sample once)")] = None,
    split: Annotated[str | None, typer.Option(help="YOLO split of the real set")] = None,
    label: LabelOpt = None,
    seed: int = 0,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Mix a real dataset with synthetic samples at a ratio and write it as YOLO or COCO."""
    from marinegan.data import open_dataset
    from marinegan.export import attribution_files, export_dataset
    from marinegan.mix import mix_counts, mix_datasets

    real_ds = open_dataset(real, split)
    n_syn = mix_counts(len(real_ds), ratio, size)[1]
    synthetic = _synthetic_for(real_ds, model, max(n_syn, 1), label=label, seed=seed, mode=None, device=device,
                               revision=revision)
    mixed = mix_datasets(real_ds, synthetic, ratio, size=size, seed=seed)
    c = mixed.counts()
    export_dataset(mixed, out, format, attribution=attribution_files(real),
                   description=f"{c['real']} real images from {real} and {c['synthetic']} synthetic samples from "
                               f"generator {model!r} (ratio {ratio}, seed {seed}), mixed with marinegan.")
    typer.echo(f"wrote {c['total']} samples ({c['real']} real, {c['synthetic']} synthetic) as {format} to {out}")


@app.command()
def ablate(
    real_train: Annotated[str, typer.Argument(help="real training set")],
    real_val: Annotated[str, typer.Argument(help="real validation set (held out)")],
    model: ModelArg = "default",
    ratios: Annotated[str, typer.Option(help="comma-separated synthetic fractions")] = "0,0.1,0.25,0.5",
    seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
    detector: str = "fasterrcnn_mobilenet_v3_large_320_fpn",
    trainer: Annotated[str, typer.Option(help="torchvision or ultralytics")] = "torchvision",
    epochs: int = 1,
    batch_size: int = 4,
    lr: float = 0.01,
    size: Annotated[int | None, typer.Option(help="fixed training-set size per run")] = None,
    train_split: str | None = None,
    val_split: str | None = None,
    pretrained_backbone: bool = False,
    label: LabelOpt = None,
    out: Annotated[Path, typer.Option(help="ablation folder (re-run to resume)")] = Path("ablation"),
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Train a detector per real/synthetic ratio and seed; report mAP on real validation images."""
    from marinegan.data import open_dataset
    from marinegan.evaluate import ablate as run_ablation
    from marinegan.mix import mix_counts

    try:
        ratio_list = [float(r) for r in ratios.split(",") if r.strip()]
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter("--ratios and --seeds take comma-separated numbers, e.g. 0,0.25,0.5") from None
    train_ds, val_ds = open_dataset(real_train, train_split), open_dataset(real_val, val_split)
    needed = max(mix_counts(len(train_ds), r, size)[1] for r in ratio_list) if ratio_list else 0
    synthetic = _synthetic_for(train_ds, model, max(needed, 1), label=label, seed=0, mode=None, device=device,
                               revision=revision)
    result = run_ablation(train_ds, val_ds, synthetic, ratio_list, seed_list, detector=detector, trainer=trainer,
                          epochs=epochs, batch_size=batch_size, lr=lr, size=size,
                          pretrained_backbone=pretrained_backbone, out_dir=out, device=device)
    typer.echo((out / "results.md").read_text())
    typer.echo(f"{len(result.runs)} runs; results.csv, results.md and ablation.png in {out}")


@app.command()
def evaluate(
    model: ModelArg,
    real: Annotated[str, typer.Argument(help="real dataset to compare with")],
    n: Annotated[int, typer.Option(help="generated images (and at most this many real)")] = 1000,
    inception_weights: Annotated[Path | None, typer.Option(help="local torch-fidelity Inception weights")] = None,
    out: Annotated[Path, typer.Option(help="JSON file to write")] = Path("metrics.json"),
    seed: int = 0,
    revision: RevisionOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """FID, KID and precision/recall of a generator against a real dataset; prints them and writes JSON."""
    import json

    from marinegan.data import open_dataset
    from marinegan.evaluate import quality_metrics
    from marinegan.hub import load_generator

    g = load_generator(model, device=device, revision=revision)
    scores = quality_metrics(g, open_dataset(real), n=n, seed=seed, inception_weights=inception_weights,
                             device=device)
    out.write_text(json.dumps({"model": model, "real": real, **scores}, indent=2))
    for key, value in scores.items():
        typer.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
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
    from huggingface_hub import HfApi

    from marinegan.hub import CONFIG_NAME, WEIGHTS_NAME, load_generator

    folder = model_dir / "generator" if (model_dir / "generator" / CONFIG_NAME).is_file() else model_dir
    load_generator(folder, device="cpu")  # refuses broken or mismatched folders before anything is sent
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, revision=branch, commit_message=message,
                             allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, "README.md"])
    typer.echo(f"pushed {folder} to {repo_id}: {info}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the picture and the stand-in real sample")] = Path("demo"),
    model: Annotated[str, typer.Option(help="'default', a save_pretrained directory, or a Hub id")] = "default",
    real: Annotated[str | None, typer.Option(help="a real dataset (default: procedural toy scenes)")] = None,
    ratio: Annotated[float, typer.Option(help="fraction of synthetic samples")] = 0.3,
    label: LabelOpt = None,
    seed: int = 0,
    device: DeviceOpt = "auto",
) -> None:
    """The main job offline: load the default generator, make a synthetic set, mix it, draw real and synthetic."""
    from marinegan.demo import run_demo

    result = run_demo(out, model=model, real=real, ratio=ratio, seed=seed, label=label, device=device)
    c = result["counts"]
    typer.echo(f"real sample: {result['real_source']}")
    typer.echo(f"mixed set: {c['total']} samples = {c['real']} real + {c['synthetic']} synthetic "
               f"(ratio {result['ratio']:.3f}, asked {ratio}) on {result['device']}")
    for step, seconds in result["timings"].items():
        typer.echo(f"  {step:<20} {seconds * 1000:8.1f} ms")
    typer.echo(f"picture of real and synthetic samples with their boxes: {result['grid']}")


def _training_data(source: dict, image_size: int, channels: int):
    from marinegan.data import object_crops, open_dataset
    from marinegan.export import attribution_files

    real = open_dataset(source["data"], source.get("split"), on_error=source.get("on_error", "raise"))
    dataset = object_crops(real, size=image_size, alpha=channels == 4) if source.get("crops") else real
    what = f"object crops ({len(dataset)}) cut from the boxes of" if source.get("crops") else "whole images of"
    description = f"{what} {len(real)} images of `{Path(source['data']).name}`."
    for f in attribution_files(source["data"]):
        description += f"\n\nFrom the dataset's {f.name}:\n\n" + f.read_text(encoding="utf-8").strip()
    return dataset, description


def main() -> None:
    """Entry point: run the app and turn marinegan's errors into one line and exit code 2."""
    try:
        app()
    except MarineganError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
