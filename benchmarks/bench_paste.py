"""On-the-fly pasting: PasteObjects samples/s against reading the same frames alone (issue 17's target: 0.9x
with 2 workers).

Real Trash-ICRA19 frames where ``../shared/data/trash-icra19`` exists (toy scenes otherwise). Through a
DataLoader (batch 16) with 0 and 2 workers, one pass = one epoch (a new iterator, as in training):

- baseline: reading the frames alone;
- PasteObjects(p=0.5) from a fixed bank of cut-outs (the default generator's objects, made once):
  the compositing cost alone;
- the same at p=1 (every frame gets objects);
- p=0.5 from the fixed bank with the three appearance matches on (what blur, haze and noise cost);
- PasteObjects(p=0.5) from a generator bank made afresh each epoch (``bank`` objects per epoch, made once
  by ``set_epoch`` in the main process, on ``--device``, and shared by the workers): compositing plus the
  bank.
"""

from __future__ import annotations

import sys
from pathlib import Path

from torch.utils.data import DataLoader
from torchvision.transforms import v2

sys.path.insert(0, str(Path(__file__).parent))
from _common import backgrounds, interleaved, parser, table, write_json  # noqa: E402

from marinegan import CompositeOptions, PasteObjects, SpriteBank, load_generator, resolve_device  # noqa: E402
from marinegan.transforms import set_epoch  # noqa: E402


class Transformed:
    """``dataset`` read through ``transform`` (a Subset of a reader has no transforms of its own)."""

    def __init__(self, dataset, transform) -> None:
        self.dataset, self.transforms = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return self.transforms(*self.dataset[i])


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--bank", type=int, default=1024, help="objects per epoch in the generator bank")
    args = p.parse_args()
    dev = resolve_device(args.device)
    n = 32 if args.quick else 400
    bank_size = 32 if args.quick else args.bank
    real, what_bg = backgrounds(n, toy=args.toy)
    g = load_generator("default", device="cpu")
    fixed = SpriteBank(SpriteBank(g, size=bank_size, device="cpu").sprites(0))
    epoch = [0]

    def read(ds, workers: int) -> int:
        epoch[0] += 1
        set_epoch(ds, epoch[0])  # every pass is a new epoch: a generator bank is made again
        loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=list)
        return sum(len(b) for b in loader)

    sets = {
        "PasteObjects(p=0.5), fixed bank (compositing only)": Transformed(real, PasteObjects(fixed, 1, p=0.5)),
        "PasteObjects(p=1), fixed bank": Transformed(real, PasteObjects(fixed, 1, p=1.0)),
        "PasteObjects(p=0.5) matching blur, haze and noise, fixed bank": Transformed(real, PasteObjects(
            fixed, 1, p=0.5, options=CompositeOptions(blur_match=True, haze_match=True, noise_match=True))),
        f"PasteObjects(p=0.5), generator bank of {bank_size} made each epoch": Transformed(
            real, v2.Compose([PasteObjects(SpriteBank(g, size=bank_size, device=dev), 1, p=0.5)])),
    }
    rows: list[dict] = []
    baseline = "read the same frames only (baseline)"
    for workers in (0, 2):
        got = interleaved({baseline: lambda w=workers: read(real, w),
                           **{what: (lambda d=ds, w=workers: read(d, w)) for what, ds in sets.items()}},
                          args.repeat, dev, baseline=baseline)
        rows += [{"what": what, "workers": workers, "value": rate, "unit": "samples/s", "ratio": ratio}
                 for what, (rate, ratio) in got.items()]
    title = (f"On-the-fly pasting on {what_bg}; 1-3 objects of the default 64 px RGBA generator, generated on "
             f"{dev.type.upper()} in the main process "
             f"(median of {args.repeat} rounds, round-robin; a pass is an epoch)")
    print(table(title, ["workers", "what", "value", "unit", "ratio"],
                [[r["workers"], r["what"], f"{r['value']:.1f}", r["unit"], r["ratio"]] for r in rows]))
    print("\nratio: samples/s against reading the same frames with the same workers, in the same rounds.")
    write_json(args.json, title, rows)


if __name__ == "__main__":
    main()
