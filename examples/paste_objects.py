"""Fresh objects every epoch: the same real frames through PasteObjects at epochs 0, 1 and 2.

    python examples/paste_objects.py --data ../shared/data/trash-icra19 --out docs/images/paste_objects.png
    python examples/paste_objects.py --out paste_objects.png          # toy scenes

Columns: real frames as read (their plastic boxes in yellow), then the same frames at three epochs,
with the default generator's objects pasted (p=1) and their boxes in magenta. Each epoch brings a new
bank of generated objects and new placements; the frames' own boxes stay. The pipeline is a plain
torchvision v2 one: PasteObjects, then a flip, as a detector's training set would use it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torchvision.transforms import v2

from marinegan import PasteObjects, SpriteBank, VocDataset, YoloDataset
from marinegan.images import draw_target, save_grid
from marinegan.toydata import make_toy_yolo
from marinegan.transforms import set_epoch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--frames", type=int, default=3)
    p.add_argument("--height", type=int, default=180, help="tile height in pixels")
    p.add_argument("--out", type=Path, default=Path("paste_objects.png"))
    args = p.parse_args()
    torch.manual_seed(0)  # the flip after PasteObjects draws from torch's global generator: same picture every run

    paste = PasteObjects(SpriteBank(args.generator, size=256), label=1, p=1.0, seed=0)
    pipeline = v2.Compose([paste, v2.RandomHorizontalFlip(p=0.5)])
    if args.data:
        kw = {"classes": ["plastic"], "ignore": ["timestamp", "bio", "rov"], "on_error": "skip"}
        plain, real = VocDataset(args.data, "train", **kw), VocDataset(args.data, "train", transforms=pipeline, **kw)
    else:
        root = make_toy_yolo(Path(tempfile.mkdtemp()) / "toy", n=12, size=160, single_class="plastic")
        plain, real = YoloDataset(root), YoloDataset(root, transforms=pipeline)
    picks = torch.linspace(0, len(real) - 1, args.frames + 2)[1:-1].round().long().tolist()  # spread over the set
    rows = []
    for i in picks:
        row = [draw_target(*plain[i], plain.classes)]
        for epoch in range(3):
            set_epoch(real, epoch)
            image, target = real[i]
            k = len(target["boxes"]) - target["pasted"]  # the frame's own boxes come first
            own = {"boxes": target["boxes"][:k], "labels": target["labels"][:k], "synthetic": False}
            new = {"boxes": target["boxes"][k:], "labels": target["labels"][k:], "synthetic": True}
            row.append(draw_target(draw_target(image, own, real.classes), new, real.classes))
        rows += row
    h, w = rows[0].shape[-2:]
    size = (args.height, round(w * args.height / h))
    tiles = [torch.nn.functional.interpolate(t[None].float(), size=size, mode="area")[0].round().to(torch.uint8)
             for t in rows]
    save_grid(tiles, args.out, nrow=4)
    print(f"rows: {len(picks)} frames; columns: as read, then epochs 0, 1, 2 with fresh objects; wrote {args.out}")


if __name__ == "__main__":
    main()
