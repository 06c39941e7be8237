"""How loosely the labels box their objects, and the box_grow that gives pasted objects such boxes.

    python examples/box_fill.py --data ../shared/data/trash-icra19 --out docs/images/box_fill.png
    python examples/box_fill.py --out box_fill.png          # toy scenes

Each plastic box of the train split is cut out with GrabCut (``object_crops(..., alpha="grabcut")``, as the
copy-paste arms and the default generator's training set are). A pasted object gets a box tight around its
alpha >= 0.5, so a cut-out pasted back would get a box of ``fill`` times its own label's width and height.
The picture: each cut-out (enlarged), its labelled box in yellow, the tight box of its alpha in magenta.
``CompositeOptions(box_grow=cutouts.box_grow())`` widens pasted boxes back to the labels' looseness.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _frames import train_frames  # examples/_frames.py
from torchvision.utils import draw_bounding_boxes

from marinegan import object_crops
from marinegan.images import save_grid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--show", type=int, default=24, help="cut-outs drawn")
    p.add_argument("--out", type=Path, default=Path("box_fill.png"))
    args = p.parse_args()

    cutouts = object_crops(train_frames(args.data), 64, alpha="grabcut", label="plastic", progress=False)
    known = ~cutouts.fill.isnan().any(1)
    fill = cutouts.fill[known]
    q = torch.quantile(fill, torch.tensor([0.25, 0.5, 0.75]), dim=0)
    step = max(1, len(cutouts) // args.show)  # spread over the set, not its first frames
    tiles = []
    for i in range(0, len(cutouts), step)[: args.show]:
        rgb = torch.nn.functional.interpolate(cutouts.images[i : i + 1, :3].float(), scale_factor=2,
                                              mode="nearest")[0].to(torch.uint8)
        alpha = cutouts.images[i, 3] >= 128
        ys, xs = alpha.nonzero(as_tuple=True)
        boxes = [cutouts.boxes[i] * 2]
        if len(xs):
            boxes.append(torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32) * 2)
        tiles.append(draw_bounding_boxes(rgb, torch.stack(boxes), colors=["yellow", "magenta"][: len(boxes)], width=2))
    save_grid(tiles, args.out, nrow=8)
    print(f"{len(cutouts)} GrabCut cut-outs of plastic ({int(known.sum())} with an alpha): the tight box of the alpha "
          f"spans a median {q[1, 0]:.2f} of the label's width (quartiles {q[0, 0]:.2f}-{q[2, 0]:.2f}) and "
          f"{q[1, 1]:.2f} of its height ({q[0, 1]:.2f}-{q[2, 1]:.2f}); box_grow = {cutouts.box_grow():.2f}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
