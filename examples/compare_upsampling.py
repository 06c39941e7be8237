"""Transposed convolutions against upsample-then-convolve: the same fixed noise at the same step, side by side.

    python examples/train_default_generator.py --data ../shared/data/trash-icra19 --out runs/resize \
        --upsample resize --steps 1000
    python examples/compare_upsampling.py runs/default runs/resize --step 1000 --out docs/images/upsampling.png

Both runs use the default recipe and seed, so their fixed-noise grids (``progress/step_N.png``) show
the same latents; only the generator's upsampling differs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs=2, help="two run folders")
    p.add_argument("--step", type=int, required=True)
    p.add_argument("--crop", type=int, default=4, help="rows and columns of the 8x8 grid to show")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    panels = []
    for run in args.runs:
        cfg = json.loads((run / "train_config.json").read_text())
        frame = Image.open(run / "progress" / f"step_{args.step:07d}.png").convert("RGB")
        grid = frame.crop((0, 20, frame.width, frame.height))  # drop the frame's own title
        tile = grid.width / 8
        grid = grid.crop((0, 0, round(tile * args.crop), round(tile * args.crop)))
        grid = grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST)  # make the texture visible
        label = f"upsample={cfg['model']['upsample']}, step {args.step}"
        panel = Image.new("RGB", (grid.width, grid.height + 20), "white")
        panel.paste(grid, (0, 20))
        ImageDraw.Draw(panel).text((4, 4), label, fill="black")
        panels.append(panel)
    out = Image.new("RGB", (sum(pn.width for pn in panels) + 10, panels[0].height + 18), "white")
    x = 0
    for pn in panels:
        out.paste(pn, (x, 0))
        x += pn.width + 10
    ImageDraw.Draw(out).text((4, out.height - 15), "same fixed noise, same recipe and seed; 2x nearest zoom. "
                             "Trained on Trash-ICRA19 cut-outs (Fulton et al. 2019; J-EDI/JAMSTEC)", fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
