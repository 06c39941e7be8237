"""Reproduce the generator shipped as ``marinegan.load_generator("default")``.

It is an RGBA object generator (64x64, for ``mode="composite"``) trained with marinegan's own
pipeline on object crops. The real marine-debris photographs meant for it (``../shared/data/``) were
not available when it was made, so it was trained on marinegan's **procedural toy scenes**
(``marinegan.toydata``): drawn bottle- and bag-like shapes, not photographs. With ``--data`` pointing
at a YOLO/COCO set of real photographs, the same script trains the real default.

    python examples/train_default_generator.py --out runs/default --install  # as shipped (about 20 min, 2 CPU cores)
    python examples/train_default_generator.py --out runs/smoke --steps 5    # what CI runs
    python examples/train_default_generator.py --data ../shared/data/deeptrash --out runs/real
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

from marinegan import DCGANConfig, object_crops, open_dataset
from marinegan.export import attribution_files
from marinegan.toydata import make_toy_yolo
from marinegan.train import TrainConfig, train_gan

RECIPE = dict(steps=3000, batch_size=64, lr=2e-4, diffaugment="color,translation", ema=0.999, seed=0,
              sample_every=250, checkpoint_every=500)
MODEL = DCGANConfig(image_size=64, channels=4, nz=64, ngf=32, ndf=32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="YOLO folder or COCO JSON of real photographs (default: toy scenes)")
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--steps", type=int, default=RECIPE["steps"])
    parser.add_argument("--install", action="store_true", help="copy the result into marinegan/pretrained/default")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.data:
        real = open_dataset(args.data)
        description = f"object crops from {len(real)} images of `{Path(args.data).name}`."
        for f in attribution_files(args.data):
            description += f"\n\nFrom the dataset's {f.name}:\n\n{f.read_text(encoding='utf-8').strip()}"
    else:
        toy = make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=800, size=128, seed=0)
        real = open_dataset(toy)
        description = ("object crops from 800 **procedural toy scenes** drawn by `marinegan.toydata.make_toy_yolo("
                       "n=800, size=128, seed=0)`: bottle- and bag-like shapes on a water gradient. These are not "
                       "photographs; no third-party data or licence is involved. Real marine-debris photographs "
                       "were not available when this generator was made.")
    description += (" Reproduce with `python examples/train_default_generator.py --out runs/default --install` "
                    "(about 20 minutes on 2 CPU cores).")
    crops = object_crops(real, size=MODEL.image_size, alpha=True)
    cfg = TrainConfig(model=MODEL, **{**RECIPE, "steps": args.steps})
    result = train_gan(crops, cfg, args.out, data_description=description + f" {len(crops)} crops.",
                       device="auto")
    print(f"generator written to {result.generator_dir}")
    if args.install:
        target = Path(__file__).resolve().parents[1] / "marinegan" / "pretrained" / "default"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors", "README.md"):
            shutil.copy2(result.generator_dir / name, target / name)
        print(f"installed into {target}")


if __name__ == "__main__":
    main()
