"""Does synthetic data help, and more than pasting real cut-outs? The three-arm ablation from Python.

    python examples/run_ablation.py --out ablation-toy                 # toy scenes, seconds
    python examples/run_ablation.py --train ../shared/data/trash-icra19/train --val ../shared/data/trash-icra19/val \\
        --sizes 100 --steps 1000 --ratios 0.5 --seeds 0 1 2 --out ablation    # Trash-ICRA19, hours on a CPU

Arms: ``real`` (the baseline), ``copy-paste`` (GrabCut cut-outs of the training set's plastic) and ``gan``
(the default generator's objects), both pasted onto each run's own real frames. Every run trains the same
number of steps. Re-running with the same --out resumes: finished runs are not redone. docs/results.md
holds the Trash-ICRA19 result and the equivalent ``marinegan ablate`` command.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from marinegan import ablate, object_crops, open_dataset
from marinegan.evaluate import CopyPasteArm, GanArm
from marinegan.toydata import make_toy_yolo

PLASTIC_ONLY = {"classes": ["plastic"], "ignore": ["timestamp", "bio", "rov"], "on_error": "skip"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", help="real training set [default: toy scenes]")
    p.add_argument("--val", help="real validation set [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--ratios", type=float, nargs="+", default=[0.25, 0.5])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[8])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--out", type=Path, default=Path("ablation"))
    args = p.parse_args()

    if args.train:
        real = open_dataset(args.train, **PLASTIC_ONLY)
        val = open_dataset(args.val or args.train, **PLASTIC_ONLY)
    else:
        tmp = Path(tempfile.mkdtemp())
        real = open_dataset(make_toy_yolo(tmp / "train", n=16, size=128, single_class="plastic"))
        val = open_dataset(make_toy_yolo(tmp / "val", n=8, size=128, seed=1, single_class="plastic"))
    cutouts = object_crops(real, 64, alpha="grabcut", label="plastic")
    arms = {"copy-paste": CopyPasteArm(cutouts, label="plastic", source="grabcut cut-outs of the training set"),
            "gan": GanArm(args.generator, label="plastic")}
    result = ablate(real, val, arms, args.ratios, args.seeds, sizes=args.sizes, steps=args.steps,
                    detector="fcos_efficientnet_lite0", pretrained_backbone=True, image_size=args.image_size,
                    out_dir=args.out)
    print((result.out_dir / "results.md").read_text())
    print(f"plot: {result.out_dir / 'ablation.png'}")


if __name__ == "__main__":
    main()
