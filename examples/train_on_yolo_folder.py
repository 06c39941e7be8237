"""Train an RGBA object generator on the boxes of a YOLO folder, then look at what it makes.

    python examples/train_on_yolo_folder.py --data path/to/yolo --out runs/objects --steps 3000
    python examples/train_on_yolo_folder.py --out runs/toy --steps 20      # toy scenes, a quick look

Without ``--data`` it makes procedural toy scenes (marinegan.toydata, not photographs).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from marinegan import DCGANConfig, load_generator, object_crops, open_dataset
from marinegan.images import save_grid
from marinegan.toydata import make_toy_yolo
from marinegan.train import TrainConfig, train_gan


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="YOLO dataset folder (default: toy scenes)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--image-size", type=int, default=64)
    args = p.parse_args()

    data = args.data or make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=64, size=96)
    crops = object_crops(open_dataset(data), size=args.image_size, alpha=True)
    print(f"{len(crops)} object crops from {data}")
    config = TrainConfig(model=DCGANConfig(image_size=args.image_size, channels=4, nz=64, ngf=32, ndf=32),
                         steps=args.steps, batch_size=64, diffaugment="color,translation", ema=0.999,
                         sample_every=max(1, args.steps // 10), checkpoint_every=max(1, args.steps // 5))
    result = train_gan(crops, config, args.out, data_description=f"object crops from {data}")
    g = load_generator(result.generator_dir)
    save_grid(g.generate(64, seed=0), args.out / "samples.png")
    print(f"look at {args.out}/real_vs_fake.png, loss.png, progress.gif and samples.png")


if __name__ == "__main__":
    main()
