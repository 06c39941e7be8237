"""The realism filter: which generated objects a bank keeps, and which it drops.

    python examples/realism_filter.py --data ../shared/data/trash-icra19 --out docs/images/realism_filter.png
    python examples/realism_filter.py --out realism_filter.png          # toy scenes

The default generator makes ``--candidates`` objects; each gets its realism score (Kynkaenniemi et al.
2019) against the real cut-outs (GrabCut, from the train split's plastic boxes) in a 16x16 appearance
space (``marinegan.synth.realism``). Top rows: the objects rated most real; bottom rows: the least. On a
grey ground, so alpha shows. ``SpriteBank(generator, keep=0.5, judge=cutouts)`` keeps the best half.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _frames import train_frames  # examples/_frames.py

from marinegan import SpriteBank, object_crops
from marinegan.images import save_grid
from marinegan.synth.realism import realism_scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--candidates", type=int, default=1024)
    p.add_argument("--show", type=int, default=24, help="objects shown per end")
    p.add_argument("--out", type=Path, default=Path("realism_filter.png"))
    args = p.parse_args()

    frames = train_frames(args.data)
    cutouts = object_crops(frames, 64, alpha="grabcut", label="plastic", progress=False)
    candidates = SpriteBank(args.generator, size=args.candidates).sprites(0)
    scores = realism_scores(candidates, cutouts)
    order = scores.argsort(descending=True)
    n = min(args.show, len(order) // 2)
    best, worst = candidates[order[:n]], candidates[order[-n:]]
    save_grid([on_grey(s) for s in torch.cat([best, worst])], args.out, nrow=max(1, n // 2))
    half = len(order) // 2
    area = (candidates[:, 3].float() / 255).mean((1, 2))
    real_area = (cutouts.images[:, 3].float() / 255).mean((1, 2)).median()
    kept, dropped = order[:half], order[half:]
    print(f"{len(cutouts)} real cut-outs judge {len(candidates)} generated objects: realism score (above 1: inside "
          f"a real object's neighbourhood) kept half median {scores[kept].median():.2f}, dropped half "
          f"{scores[dropped].median():.2f}; object area (share of the sprite) kept {area[kept].median():.2f}, "
          f"dropped {area[dropped].median():.2f}, real {real_area:.2f}; top: the {n} most real, bottom: the {n} "
          f"least; wrote {args.out}")


def on_grey(sprite: torch.Tensor) -> torch.Tensor:
    """uint8 RGBA ``(4, S, S)`` over mid-grey, uint8 RGB ``(3, S, S)``."""
    a = sprite[3:].float() / 255
    return (sprite[:3].float() * a + 128 * (1 - a)).round().to(torch.uint8)


if __name__ == "__main__":
    main()
