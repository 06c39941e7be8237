"""What a training run leaves for people to look at: loss curves, the progress GIF, real vs fake."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from marinegan.images import grid_image


def read_metrics(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over ``window`` values (shorter at the start), same length as ``values``."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_losses(records: list[dict], path: Path) -> Path:
    """``loss.png``: G and D losses against the step (and D(x), D(G(z)) below)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    window = max(1, len(records) // 50)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for ax, keys in ((ax1, (("loss_g", "G loss"), ("loss_d", "D loss"))),
                     (ax2, (("d_real", "D(x)"), ("d_fake", "D(G(z))")))):
        for (key, name), colour in zip(keys, ("tab:blue", "tab:orange"), strict=True):
            raw = [r[key] for r in records]
            ax.plot(steps, raw, color=colour, lw=0.5, alpha=0.25)
            label = f"{name} (moving average of {window})" if window > 1 else name
            ax.plot(steps, moving_average(raw, window), color=colour, lw=1.5, label=label)
    ax1.set_ylabel("loss")
    ax1.set_title("Generator and discriminator loss during training (faint: every logged step)")
    ax1.legend()
    ax2.set_xlabel("step")
    ax2.set_ylabel("mean D output")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _labelled(image: Image.Image, text: str) -> Image.Image:
    canvas = Image.new("RGB", (image.width, image.height + 18), "white")
    canvas.paste(image.convert("RGB"), (0, 18))
    ImageDraw.Draw(canvas).text((4, 3), text, fill="black")
    return canvas


def progress_frame(images: torch.Tensor, step: int) -> Image.Image:
    """One GIF frame: the fixed-noise grid with its step written above it."""
    return _labelled(grid_image(images, nrow=8), f"step {step}")


def write_gif(frames_dir: Path, path: Path, duration_ms: int = 300) -> Path | None:
    """``progress.gif`` from the PNG frames in ``frames_dir`` (ordered by step)."""
    files = sorted(frames_dir.glob("step_*.png"))
    if not files:
        return None
    frames = [Image.open(f).convert("RGB") for f in files]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path


def real_vs_fake(real: torch.Tensor, fake: torch.Tensor, path: Path) -> Path:
    """``real_vs_fake.png``: a grid of real images beside a grid of generated ones."""
    left, right = _labelled(grid_image(real, nrow=8), "real"), _labelled(grid_image(fake, nrow=8), "fake")
    canvas = Image.new("RGB", (left.width + right.width + 10, max(left.height, right.height)), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + 10, 0))
    canvas.save(path)
    return path
