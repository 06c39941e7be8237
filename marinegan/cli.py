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
    dataset, description = _training_data(source, cfg.model.image_size, cfg.model.channels)
    if resume is None and (run_dir / "train_config.json").exists():
        raise typer.BadParameter(f"{run_dir} already holds a run; use --resume {run_dir} or a new --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 writes
        (run_dir / "source.json").write_text(json.dumps(source, indent=2))
    train_gan(dataset, cfg, run_dir, resume=resume is not None, device=device, loggers=log or [],
              data_description=description)


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
