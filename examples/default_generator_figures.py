"""The pictures of the shipped default generator that docs/default-generator.md shows.

    python examples/default_generator_figures.py --data ../shared/data/trash-icra19 --run runs/default \
        --out docs/images/default

Copies the run's ``real_vs_fake.png``, ``progress.gif`` and ``loss.png`` and draws
``nearest_neighbours.png``: 16 samples of the generator, each beside its closest training cut-out.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from marinegan import load_generator, object_crops, open_dataset
from marinegan.evaluate import nearest_neighbour_picture
from marinegan.images import to_uint8

CLASSES = ["plastic", "bio", "rov"]
IGNORED = ["timestamp", "metal", "wood", "paper", "cloth", "rubber", "fishing", "unknown"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the Trash-ICRA19 folder the generator was trained on")
    p.add_argument("--run", type=Path, help="the training run folder (its pictures are copied)")
    p.add_argument("--generator", default="default")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--overlays", default="mask", choices=("mask", "skip"),
                   help="the training cut-outs as the generator saw them (train_default_generator.py --overlays)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.run is not None:
        for name in ("real_vs_fake.png", "progress.gif", "loss.png"):
            shutil.copy2(args.run / name, args.out / name)
    g = load_generator(args.generator, device="cpu")
    real = open_dataset(args.data, "train", classes=CLASSES, ignore=IGNORED)
    crops = object_crops(real, size=g.config.image_size, alpha="grabcut", label="plastic", overlays=args.overlays,
                         progress=False)
    samples = to_uint8(g.generate(16, seed=args.seed))
    path = nearest_neighbour_picture(samples, crops.images, args.out / "nearest_neighbours.png",
                                     caption=f"{len(crops)} training cut-outs: Trash-ICRA19 (Fulton et al. 2019; "
                                             "J-EDI/JAMSTEC; academic use only)")
    print(f"wrote {path} and the run's pictures to {args.out}")


if __name__ == "__main__":
    main()
