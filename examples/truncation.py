"""The truncation trick: what drawing a generator's latents closer to zero does to its objects.

    python examples/truncation.py --data ../shared/data/trash-icra19 --out docs/images/truncation.png
    python examples/truncation.py --out truncation.png                   # toy scenes

One row per threshold (``--truncations``; ``none`` is untruncated), the same seed in every row, so a column
shows one object as its latent is pulled in (values beyond ``±t`` are drawn again, BigGAN's truncation trick:
``SpriteBank(generator, truncation=t)``). For each threshold, ``--candidates`` objects are compared with the
real GrabCut cut-outs of the train split's plastic boxes in the realism filter's appearance space
(``marinegan.synth.realism``; k-nearest-neighbour manifolds, Kynkaenniemi et al. 2019): *precision*, the share of
generated objects inside the real objects' manifold (how real they look), and *recall*, the share of real objects
inside the generated objects' manifold (how much of the real variety they cover).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _frames import train_frames  # examples/_frames.py
from realism_filter import on_grey  # examples/realism_filter.py

from marinegan import SpriteBank, load_generator, object_crops
from marinegan.images import save_grid
from marinegan.synth.realism import realism_scores


def inside(points: torch.Tensor, support: torch.Tensor) -> float:
    """Share of uint8 RGBA ``points`` inside the k-NN manifold of ``support``: a realism score of 1 or more."""
    return (realism_scores(points, support) >= 1).float().mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--truncations", default="none,2,1,0.5", help="comma-separated thresholds; none: untruncated")
    p.add_argument("--candidates", type=int, default=1024, help="objects per threshold for precision and recall")
    p.add_argument("--show", type=int, default=12, help="objects shown per row")
    p.add_argument("--out", type=Path, default=Path("truncation.png"))
    args = p.parse_args()

    frames = train_frames(args.data)
    cutouts = object_crops(frames, 64, alpha="grabcut", label="plastic", progress=False)
    g = load_generator(args.generator, device="cpu")
    rows = []
    for name in args.truncations.split(","):
        t = None if name.strip() == "none" else float(name)
        objects = SpriteBank(g, size=max(args.candidates, args.show), truncation=t, device="cpu").sprites(0)
        rows += [on_grey(s) for s in objects[: args.show]]
        print(f"truncation {name.strip():>4}: precision {inside(objects, cutouts.images):.2f}, "
              f"recall {inside(cutouts.images, objects):.2f} "
              f"({len(objects)} generated objects against {len(cutouts)} real cut-outs)")
    save_grid(rows, args.out, nrow=args.show)
    print(f"wrote {args.out}: one row per threshold ({args.truncations}), the same latents' seed in every row")


if __name__ == "__main__":
    main()
