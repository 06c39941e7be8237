"""Mix synthetic plastic into a real YOLO set and train a torchvision detector on it.

    python examples/mix_into_torchvision.py --train data/train --val data/val --ratio 0.3 --epochs 10
    python examples/mix_into_torchvision.py --epochs 1          # toy scenes, a quick run

Without ``--train``/``--val`` it makes procedural toy scenes (marinegan.toydata, not photographs).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from marinegan import SyntheticPlasticDataset, detection_collate, load_generator, mix_datasets, open_dataset
from marinegan.evaluate import build_detector, evaluate_detector
from marinegan.mix import mix_counts
from marinegan.toydata import make_toy_yolo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train")
    p.add_argument("--val")
    p.add_argument("--generator", default="default")
    p.add_argument("--ratio", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--label", help="class of the generated objects, when the set has several")
    args = p.parse_args()

    tmp = Path(tempfile.mkdtemp())
    real = open_dataset(args.train or make_toy_yolo(tmp / "train", n=32, size=128, single_class="plastic"))
    val = open_dataset(args.val or make_toy_yolo(tmp / "val", n=16, size=128, seed=1, single_class="plastic"))
    g = load_generator(args.generator)  # CUDA when present
    n_syn = mix_counts(len(real), args.ratio, None)[1]
    synthetic = SyntheticPlasticDataset(g, max(n_syn, 1), backgrounds=real, label=args.label, materialize=True)
    train = mix_datasets(real, synthetic, args.ratio, seed=0)
    print(train)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = build_detector("fasterrcnn_mobilenet_v3_large_320_fpn", num_classes=len(train.classes)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(train, batch_size=4, shuffle=True, collate_fn=detection_collate)
    for epoch in range(args.epochs):
        model.train()
        for images, targets in loader:
            images = [im.to(device) for im in images]
            targets = [{"boxes": t["boxes"].to(device), "labels": t["labels"].to(device)} for t in targets]
            loss = sum(model(images, targets).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: last loss {loss.item():.3f}")
    scores = evaluate_detector(model, val, train.classes, device=device)
    print(f"mAP on real validation images: {scores['map']:.4f} (mAP@50 {scores['map_50']:.4f})")


if __name__ == "__main__":
    main()
