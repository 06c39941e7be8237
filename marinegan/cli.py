"""The ``marinegan`` command line: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

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


def main() -> None:
    """Entry point: run the app and turn marinegan's errors into one line and exit code 2."""
    try:
        app()
    except MarineganError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
