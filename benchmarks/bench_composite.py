"""Composite throughput: composited detection samples/s against reading the same backgrounds alone.

Real Trash-ICRA19 frames where ``../shared/data/trash-icra19`` exists (toy scenes otherwise; the title
says which). Through a DataLoader (batch 16) with 0 and 2 workers:

- baseline: reading the backgrounds alone (JPEG decode to a uint8 tensor, with its target);
- materialised (``materialize=True``, recommended for shuffled training): every item was composited
  once up front and keeps its changed pixels, so a read is the background's decode plus writing those
  pixels back;
- live: compositing on every read, sprites already generated (what a lazy set costs per read once
  its block is generated, and what the materialise step costs per item);
- lazy: live compositing, and the generator runs once per block of 128 items as the set is read.

Then, at 0 workers, the one-off costs of materialising (time and memory per item) and each blend
choice on its own rows (live and materialised), so every cost is visible.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).parent))
from _common import backgrounds, interleaved, parser, table, write_json  # noqa: E402

from marinegan import CompositeOptions, SyntheticPlasticDataset, load_generator, resolve_device  # noqa: E402

BLENDS = (("alpha", 0.0), ("hard", 0.0), ("alpha", 0.5), ("gaussian", 0.5), ("poisson", 0.5))
DEFAULT = ("alpha", 0.5)


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = resolve_device(args.device)
    n = 32 if args.quick else 400
    real, what_bg = backgrounds(n, toy=args.toy)
    g = load_generator("default", device=dev)

    def read(ds, workers: int) -> int:
        loader = DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=list)
        return sum(len(b) for b in loader)

    def synthetic(options: CompositeOptions | None = None, materialize: bool = False,
                  cache_blocks: int = 4) -> SyntheticPlasticDataset:
        return SyntheticPlasticDataset(g, n, backgrounds=real, device=dev, batch_size=128, options=options, label=1,
                                       materialize=materialize, cache_blocks=cache_blocks, progress=False)

    def materialised(options: CompositeOptions | None = None) -> tuple[SyntheticPlasticDataset, float]:
        t = time.perf_counter()
        ds = synthetic(options, materialize=True)
        return ds, time.perf_counter() - t

    def live(options: CompositeOptions | None = None) -> SyntheticPlasticDataset:
        ds = synthetic(options, cache_blocks=n)  # every block generated once and kept: reads composite live
        read(ds, 0)
        return ds

    rows: list[dict] = []
    stored, t_materialise = materialised()
    same_backgrounds = Subset(real, [stored[i][1]["background_index"] for i in range(n)])
    frame_bytes = sum(image.numel() for image, _ in same_backgrounds) / n
    live_default = live()
    read_rate = {}  # background reads per second, per worker count
    baseline = "read the same backgrounds only (baseline)"
    for workers in (0, 2):
        got = interleaved({
            baseline: lambda w=workers: read(same_backgrounds, w),
            "composite, materialised (default options)": lambda w=workers: read(stored, w),
            "composite live, sprites generated (default options)": lambda w=workers: read(live_default, w),
            "composite lazy: generator runs per block of 128": lambda w=workers: read(synthetic(), w),
        }, args.repeat, dev, baseline=baseline)
        rows += [{"what": what, "workers": workers, "value": rate, "unit": "samples/s", "ratio": ratio}
                 for what, (rate, ratio) in got.items()]
        read_rate[workers] = got[baseline][0]
    rows += [
        {"what": "materialise once (generate + composite), default options", "workers": 0,
         "value": t_materialise / n * 1e3, "unit": "ms/item", "ratio": t_materialise / n * read_rate[0]},
        {"what": "memory a materialised set holds, default options", "workers": 0,
         "value": stored.stored_nbytes() / n / 1024, "unit": "KiB/item", "ratio": stored.stored_nbytes() / n /
         frame_bytes},
    ]
    for blend, match in BLENDS:
        options = CompositeOptions(blend=blend, color_match=match)
        label = f"blend={blend}, color_match={match}" + (" (default)" if (blend, match) == DEFAULT else "")
        ds_live = live(options)
        ds_mat, t_made = materialised(options)
        got = interleaved({"baseline": lambda: read(same_backgrounds, 0), "live": lambda d=ds_live: read(d, 0),
                           "materialised": lambda d=ds_mat: read(d, 0)}, args.repeat, dev, baseline="baseline")
        rows += [{"what": f"{label}: {kind}", "workers": 0, "value": got[kind][0], "unit": "samples/s",
                  "ratio": got[kind][1]} for kind in ("live", "materialised")]
        rows.append({"what": f"{label}: materialise once", "workers": 0, "value": t_made / n * 1e3,
                     "unit": "ms/item", "ratio": t_made / n * got["baseline"][0]})
    title = (f"Composite samples/s on {what_bg}; 1-3 objects from the default 64 px RGBA generator on {dev} "
             f"(median of {args.repeat} rounds, round-robin)")
    print(table(title, ["workers", "what", "value", "unit", "ratio"],
                [[r["workers"], r["what"], f"{r['value']:.3f}" if r["unit"] != "samples/s" else f"{r['value']:.1f}",
                  r["unit"], r["ratio"]] for r in rows]))
    print("\nratio: samples/s against the baseline of the same workers, measured round-robin (median over rounds of "
          "the ratio within a round; each blend against a baseline of its own rounds); ms/item: in units of one "
          "background read; KiB/item: as a fraction of one decoded frame.")
    write_json(args.json, title, rows)


if __name__ == "__main__":
    main()
