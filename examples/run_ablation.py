"""Does synthetic data help? Train a detector at several real/synthetic ratios and compare mAP on real images.

    python examples/run_ablation.py --train data/train --val data/val --ratios 0.1 0.25 0.5 --seeds 0 1 2
    python examples/run_ablation.py --out ablation-toy --ratios 0.5 --seeds 0 --epochs 1    # toy scenes

Re-running with the same --out resumes: finished runs are not redone.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from marinegan import SyntheticPlasticDataset, ablate, load_generator, open_dataset
from marinegan.mix import mix_counts
from marinegan.toydata import make_toy_yolo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train")
    p.add_argument("--val")
    p.add_argument("--generator", default="default")
    p.add_argument("--ratios", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path("ablation"))
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp())
    real = open_dataset(args.train or make_toy_yolo(tmp / "train", n=24, size=128, single_class="plastic"))
    val = open_dataset(args.val or make_toy_yolo(tmp / "val", n=12, size=128, seed=1, single_class="plastic"))
    needed = max(mix_counts(len(real), r, None)[1] for r in args.ratios)
    synthetic = SyntheticPlasticDataset(load_generator(args.generator), needed, backgrounds=real)
    result = ablate(real, val, synthetic, args.ratios, args.seeds, epochs=args.epochs, out_dir=args.out)
    print((result.out_dir / "results.md").read_text())
    print(f"plot: {result.out_dir / 'ablation.png'}")


if __name__ == "__main__":
    main()
