"""Objects that look like the frame: the same pastes with each appearance match of CompositeOptions.

    python examples/appearance.py --data ../shared/data/trash-icra19 --out docs/images/appearance.png
    python examples/appearance.py --out appearance.png          # toy scenes
    python examples/appearance.py --data ../shared/data/trash-icra19 --stats 30 --out appearance.png

``--stats N`` also prints what the matches measure on N frames (an object pasted at 0.2, 0.45 and 0.7 of
the short side): how often blur fires and with which sigma, the frames' noise and the haze transmission.

Rows: real frames, each with two objects of the default generator pasted with colour matching only
(today's default; first tile). The other tiles zoom in on the first object, pasted at the same place
each time (the matches draw no random numbers, so every box stays put): colour only, then with
``blur_match``, ``haze_match``, ``noise_match`` and all three. Boxes are not drawn: the pixels are the point.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
from _frames import fit_tile  # examples/_frames.py

from marinegan import CompositeOptions, SpriteBank, VocDataset, YoloDataset
from marinegan.images import save_grid
from marinegan.synth.composite import composite
from marinegan.toydata import make_toy_yolo

COLUMNS = {"colour only": {}, "+ blur_match": {"blur_match": True}, "+ haze_match": {"haze_match": True},
           "+ noise_match": {"noise_match": True},
           "all three": {"blur_match": True, "haze_match": True, "noise_match": True}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a val split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--height", type=int, default=160, help="tile height in pixels")
    p.add_argument("--stats", type=int, default=0, help="also measure the matches on this many frames")
    p.add_argument("--out", type=Path, default=Path("appearance.png"))
    args = p.parse_args()

    if args.data:
        frames = VocDataset(args.data, "val", classes=["plastic"], ignore=["timestamp", "bio", "rov"], on_error="skip")
    else:
        frames = YoloDataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=8, size=160, single_class="plastic"))
    sprites = SpriteBank(args.generator, size=64).sprites(0)
    base = CompositeOptions(scale=(0.2, 0.7))
    picks = torch.linspace(0, len(frames) - 1, args.frames + 2)[1:-1].round().long().tolist()
    tiles = []
    for row, i in enumerate(picks):
        image, target = frames[i]
        objects = sprites[[2 * row, 2 * row + 1]]
        crops = []
        for name, changes in COLUMNS.items():
            out, boxes, _ = composite(image, objects, torch.Generator().manual_seed(row), replace(base, **changes),
                                      occupied=target["boxes"], ignored=target.get("ignored_boxes"))
            if name == "colour only":
                tiles.append(fit_tile(out, args.height))
            crops.append(fit_tile(_around(out, boxes[0]), args.height) if len(boxes) else torch.zeros_like(tiles[-1]))
        tiles += crops
    save_grid(tiles, args.out, nrow=len(COLUMNS) + 1)
    if args.stats:
        measure(frames, sprites, args.stats)
    print(f"rows: {len(picks)} frames; columns: the frame, then its first object: {', '.join(COLUMNS)}; "
          f"wrote {args.out}")


def measure(frames, sprites: torch.Tensor, n: int) -> None:
    """Print, per object size, what the matches measure over ``n`` frames spread over ``frames``."""
    import numpy as np

    from marinegan.synth import appearance
    from marinegan.synth.composite import _rgb, channels_last, resize_sprite, sprite_alpha

    picks = torch.linspace(0, len(frames) - 1, n).round().long().tolist()
    for fraction in (0.2, 0.45, 0.7):
        sigmas, noise, haze = [], [], []
        for k, i in enumerate(picks):
            frame = channels_last(frames[i][0])
            side = int(fraction * min(frame.shape[:2]))
            s = resize_sprite(sprites[k % len(sprites)].permute(1, 2, 0).numpy().copy(), side, False)
            alpha, rgb = sprite_alpha(s, "alpha"), _rgb(s)
            y0, x0 = (frame.shape[0] - side) // 2, (frame.shape[1] - side) // 2
            region = frame[y0 : y0 + side, x0 : x0 + side]
            sigmas.append(appearance.blur_to_match(rgb, alpha, region))
            noise.append(appearance.noise_level(region))
            veiled = appearance.hazed(rgb, alpha, region)
            haze.append(1.0 if veiled is rgb else float(veiled.std() / max(rgb.std(), 1e-6)))
        q = lambda v: "/".join(f"{x:.2f}" for x in np.percentile(v, [10, 50, 90]))  # noqa: E731
        print(f"objects at {fraction:g} of the short side, {n} frames (p10/p50/p90): blur fires on "
              f"{np.mean(np.array(sigmas) > 0):.0%}, sigma {q(sigmas)} px; frame noise {q(noise)} grey levels; "
              f"contrast kept by haze {q(haze)}")


def _around(image: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """The part of ``image`` around ``box`` (XYXY), with a quarter of its size as margin on each side."""
    x0, y0, x1, y1 = box.tolist()
    mx, my = (x1 - x0) / 4, (y1 - y0) / 4
    h, w = image.shape[-2:]
    return image[:, max(0, int(y0 - my)) : min(h, int(y1 + my) + 1), max(0, int(x0 - mx)) : min(w, int(x1 + mx) + 1)]


if __name__ == "__main__":
    main()
