"""What each ablation arm trains on: the same real frames, as themselves, with pasted cut-outs, with GAN objects.

    python examples/ablation_samples.py --data ../shared/data/trash-icra19 --height 240 \\
        --out docs/images/ablation_samples.png
    python examples/ablation_samples.py --out samples.png          # toy scenes
    python examples/ablation_samples.py --data ../shared/data/trash-icra19 --grid 2 --scale 0.2,0.7 \
        --out docs/images/grid_samples.png                         # IBURD's grid, larger objects
    python examples/ablation_samples.py --data ../shared/data/trash-icra19 --fresh --scale 0.2,0.7 \
        --out docs/images/fresh_samples.png                        # the fresh arms, at epoch 0
    python examples/ablation_samples.py --data ../shared/data/trash-icra19 --fresh --scale 0.2,0.7 \
        --distractors bio,rov --out docs/images/distractor_samples.png  # with unlabelled bio/ROV cut-outs
    python examples/ablation_samples.py --data ../shared/data/trash-icra19 --fresh --scale 0.2,0.7 \
        --truncation 1 --out docs/images/truncation_samples.png       # and the truncated GAN objects

Rows: real frames (their labelled plastic in yellow), then the copy-paste arm's and the gan arm's (and with
``--truncation``, the gan arm's with truncated latents)
composites (every box of a composite in magenta, the frame's own boxes included). Each composite's
background is one of those frames, drawn by the seed; the two arms share backgrounds and placements.
The composites use the ablation's own code path (CopyPasteArm and GanArm with a seed), so this is
exactly what a detector sees, before its flips.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch.utils.data import Subset

from marinegan import CompositeOptions, object_crops, open_dataset
from marinegan.evaluate import CopyPasteArm, FreshArm, GanArm
from marinegan.images import draw_target, save_grid
from marinegan.toydata import make_toy_yolo

PLASTIC_ONLY = {"classes": ["plastic"], "ignore": ["timestamp", "bio", "rov"], "on_error": "skip"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--height", type=int, default=180, help="tile height in pixels")
    p.add_argument("--scale", default="0.15,0.45", help="MIN,MAX of the pasted side (CompositeOptions.scale)")
    p.add_argument("--grid", type=int, default=0, help="one object per cell of an N x N grid (CompositeOptions.grid)")
    p.add_argument("--fresh", action="store_true", help="the fresh arms (copy-paste-fresh, gan-fresh) at epoch 0")
    p.add_argument("--distractors", help="with --fresh and --data: classes pasted without boxes, e.g. bio,rov "
                   "(FreshArm's distractors)")
    p.add_argument("--truncation", type=float, help="add a row: the GAN arm with latents within ±T (truncation trick)")
    p.add_argument("--out", type=Path, default=Path("ablation_samples.png"))
    args = p.parse_args()
    if args.distractors and not (args.fresh and args.data):
        p.error("--distractors needs --fresh and --data (the toy scenes have no other class)")
    lo, hi = (float(x) for x in args.scale.split(","))
    options = CompositeOptions(scale=(lo, hi), grid=args.grid)

    if args.data:
        real = open_dataset(args.data, "train", **PLASTIC_ONLY)
    else:
        real = open_dataset(make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=16, size=160, single_class="plastic"))
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(args.seed)).tolist()
    frames = Subset(real, order[: args.frames])
    frames.classes = real.classes
    pool = Subset(real, order[:300]) if len(real) > 300 else real  # cut-outs of 300 frames: enough for a figure
    pool.classes = real.classes
    cutouts = object_crops(pool, 64, alpha="grabcut", label="plastic", progress=False)
    distractors = None
    if args.distractors:  # the frames read again with those classes (the rest ignored), cut out the same way
        names = args.distractors.split(",")
        view = open_dataset(args.data, "train", classes=names, on_error="skip",
                            ignore=[n for n in ("plastic", *PLASTIC_ONLY["ignore"]) if n not in names])
        distractors = object_crops(Subset(view, order[:300]), 64, alpha="grabcut", progress=False).images
    if args.fresh:
        arms = {"copy-paste-fresh": FreshArm(cutouts, label="plastic", options=options, distractors=distractors),
                "gan-fresh": FreshArm(args.generator, label="plastic", options=options, distractors=distractors)}
    else:
        arms = {"copy-paste": CopyPasteArm(cutouts, label="plastic", options=options),
                "gan": GanArm(args.generator, label="plastic", options=options)}
    if args.truncation is not None and args.fresh:
        arms[f"gan-fresh truncated at ±{args.truncation:g}"] = FreshArm(
            args.generator, label="plastic", options=options, distractors=distractors, truncation=args.truncation)
    elif args.truncation is not None:
        arms[f"gan truncated at ±{args.truncation:g}"] = GanArm(args.generator, label="plastic", options=options,
                                                                truncation=args.truncation)
    rows = [[draw_target(*frames[i], real.classes) for i in range(len(frames))]]
    for arm in arms.values():
        synthetic = arm(frames, len(frames), args.seed)
        rows.append([draw_target(*synthetic[i], real.classes) for i in range(len(frames))])
    h, w = rows[0][0].shape[-2:]
    size = (args.height, round(w * args.height / h))
    tiles = [torch.nn.functional.interpolate(t[None].float(), size=size, mode="area")[0].round().to(torch.uint8)
             for row in rows for t in row]
    save_grid(tiles, args.out, nrow=len(frames))
    names = list(arms)
    extra = f", {len(distractors)} {args.distractors} distractors (no boxes)" if distractors is not None else ""
    rest = "".join(f", {name}" for name in names[2:])
    print(f"rows: real, {names[0]} ({len(cutouts)} cut-outs), {names[1]} ({args.generator}){rest}{extra}; {options}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
