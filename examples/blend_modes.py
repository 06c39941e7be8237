"""One picture of the compositing choices: the same background and the same sprites, blended each way.

    python examples/blend_modes.py --data ../shared/data/trash-icra19 --out docs/images/blend_modes.png
    python examples/blend_modes.py --out blend.png     # toy scenes and the toy-trained generator: what CI runs

Sprites come from a generator (``--generator``, default ``"default"``); ``--cutouts`` uses GrabCut
cut-outs of real ``plastic`` boxes instead (copy-paste). Columns: alpha, gaussian, poisson, each
without and with colour match; boxes (alpha >= 0.5) drawn in magenta on a second row.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from marinegan import CompositeOptions, load_generator, object_crops, open_dataset
from marinegan.images import draw_target, to_pil, to_uint8
from marinegan.synth.composite import composite
from marinegan.toydata import make_toy_yolo

CHOICES = [("alpha", 0.0), ("alpha", 0.5), ("gaussian", 0.5), ("poisson", 0.0), ("poisson", 0.5)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="Pascal VOC/YOLO/COCO set: backgrounds from its val split")
    p.add_argument("--generator", default="default")
    p.add_argument("--cutouts", action="store_true", help="paste real GrabCut cut-outs instead of generated sprites")
    p.add_argument("--out", type=Path, default=Path("blend_modes.png"))
    p.add_argument("--frames", type=int, nargs="+", default=[7, 120, 230])
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()

    if args.data:
        kw = dict(classes=["plastic", "bio", "rov"], ignore=["timestamp", "metal", "wood", "paper", "cloth",
                                                               "rubber", "fishing", "unknown"])
        backgrounds = open_dataset(args.data, "val", **kw)
        source = open_dataset(args.data, "train", **kw) if args.cutouts else None
    else:
        backgrounds = source = open_dataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=8, size=128, seed=0))
    if args.cutouts:
        sprites = object_crops(source, 64, alpha="grabcut", label=1, progress=False).images
        sprites = sprites[torch.randperm(len(sprites), generator=torch.Generator().manual_seed(args.seed))[:3]]
        what = "real GrabCut cut-outs (copy-paste)"
    else:
        g = load_generator(args.generator, device="cpu")
        sprites = to_uint8(g.generate(3, seed=args.seed))
        what = f"generator {args.generator!r}"
    rows = []
    for frame in args.frames:
        background, target = backgrounds[frame % len(backgrounds)]
        tiles = []
        for blend, cm in CHOICES:
            options = CompositeOptions(blend=blend, color_match=cm, scale=(0.3, 0.4), max_overlap=0.0)
            image, boxes, _ = composite(background, sprites, torch.Generator().manual_seed(args.seed), options)
            tiles.append(image)
        rows.append(torch.stack(tiles))
        rows.append(torch.stack([draw_target(t, {"boxes": b, "labels": torch.ones(len(b), dtype=torch.long),
                                                  "synthetic": True})
                                 for t, b in ((img, composite(background, sprites, torch.Generator().manual_seed(
                                     args.seed), CompositeOptions(blend=bl, color_match=c, scale=(0.3, 0.4),
                                                                   max_overlap=0.0))[1])
                                              for img, (bl, c) in zip(tiles, CHOICES, strict=True))]))
    h, w = rows[0].shape[-2:]
    header = 18
    canvas = Image.new("RGB", (w * len(CHOICES), header + h * len(rows) + 16), "white")
    draw = ImageDraw.Draw(canvas)
    for j, (blend, cm) in enumerate(CHOICES):
        draw.text((j * w + 4, 3), f"blend={blend}, color_match={cm}", fill="black")
        for i, row in enumerate(rows):
            canvas.paste(to_pil(row[j]), (j * w, header + i * h))
    credit = f"sprites: {what}."
    if args.data:
        credit += " Frames: Trash-ICRA19 val (Fulton et al. 2019; J-EDI/JAMSTEC; academic use only)."
    draw.text((4, header + h * len(rows) + 2), credit, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out)
    print(f"wrote {args.out}: {len(CHOICES)} blend choices x {len(args.frames)} frames ({what})")


if __name__ == "__main__":
    main()
