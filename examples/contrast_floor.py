"""The contrast floor: how many pasted objects the frame would barely show, for a generator and for cut-outs.

    python examples/contrast_floor.py --data ../shared/data/trash-icra19 --out docs/images/contrast_floor.png
    python examples/contrast_floor.py --out contrast_floor.png          # toy scenes

``CompositeOptions(min_contrast=T)`` leaves out an object whose paste changes the frame by less than ``T``
uint8 levels over its visible part (``marinegan.synth.composite.pasted_contrast``). Each frame of every
``--every``-th training frame gets two objects, pasted with the same draws at each floor, from the default
generator's bank and from the real cut-outs (GrabCut, from the train split's plastic boxes). Printed: the
share of objects each floor leaves out. Picture: frames that lost a generated object at ``--floor``, without
the floor (left) and with it (right); yellow boxes are the pasted objects.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch
from _frames import fit_tile, train_frames  # examples/_frames.py

from marinegan import SpriteBank, object_crops
from marinegan.images import draw_target, save_grid
from marinegan.synth.composite import composite
from marinegan.transforms import PASTE_OPTIONS

FLOORS = (5.0, 10.0, 15.0, 20.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a VOC folder with a train split [default: toy scenes]")
    p.add_argument("--generator", default="default")
    p.add_argument("--every", type=int, default=5, help="use every N-th training frame")
    p.add_argument("--floor", type=float, default=10.0, help="the floor the picture shows")
    p.add_argument("--show", type=int, default=4, help="frames in the picture")
    p.add_argument("--height", type=int, default=180)
    p.add_argument("--out", type=Path, default=Path("contrast_floor.png"))
    args = p.parse_args()

    frames = train_frames(args.data)
    banks = {"generated": SpriteBank(args.generator, size=512, device="cpu").sprites(0),
             "cut-outs": object_crops(frames, 64, alpha="grabcut", label="plastic", progress=False).images}
    floors = sorted({*FLOORS, args.floor})
    tiles: list[torch.Tensor] = []
    for name, bank in banks.items():
        placed = dict.fromkeys((0.0, *floors), 0)
        for i in range(0, len(frames), args.every):
            image, target = frames[i]
            sprites = bank[torch.randint(len(bank), (2,), generator=torch.Generator().manual_seed(i))]
            results = {}
            for floor in placed:  # the same draws at every floor
                options = replace(PASTE_OPTIONS, min_contrast=floor)  # the default size, 0.2-0.7
                results[floor] = composite(image, sprites, torch.Generator().manual_seed(i), options,
                                           occupied=target["boxes"], ignored=target.get("ignored_boxes"))
                placed[floor] += len(results[floor][1])
            if name == "generated" and len(tiles) < 2 * args.show and \
                    len(results[args.floor][1]) < len(results[0.0][1]):
                tiles += [_tile(*results[f][:2], args.height) for f in (0.0, args.floor)]
        dropped = ", ".join(f"{f:g}: {1 - placed[f] / max(1, placed[0.0]):.1%}" for f in floors)
        print(f"{name}: {placed[0.0]} objects pasted on {len(range(0, len(frames), args.every))} frames; "
              f"left out by a floor of {dropped}")
    if tiles:
        save_grid(tiles, args.out, nrow=2)
        print(f"wrote {args.out}: {len(tiles) // 2} frames that lost a generated object at floor {args.floor:g} "
              f"(left: no floor; right: floor)")
    else:
        print(f"no frame lost a generated object at floor {args.floor:g}: no picture")


def _tile(image: torch.Tensor, boxes: torch.Tensor, height: int) -> torch.Tensor:
    """The composite with its pasted boxes drawn, as a 4:3 tile of ``height`` rows."""
    drawn = draw_target(image, {"boxes": boxes, "labels": torch.ones(len(boxes), dtype=torch.int64)}, ["_", "pasted"])
    return fit_tile(drawn, height)


if __name__ == "__main__":
    main()
