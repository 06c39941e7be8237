"""Generation throughput: SyntheticPlasticDataset through a DataLoader vs the raw batched generator(z).

Also the memory a lazy set holds as its length grows (it must stay flat: an LRU of blocks).
Target: the dataset reaches at least 0.95x the raw forward's images/s at the same batch size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, parser, table, write_json  # noqa: E402

from marinegan import DCGANConfig, Generator, SyntheticPlasticDataset, resolve_device  # noqa: E402
from marinegan.images import to_uint8  # noqa: E402


def main() -> None:
    args = parser(__doc__).parse_args()
    dev = resolve_device(args.device)
    torch.manual_seed(0)
    g = Generator(DCGANConfig()).to(dev).eval()  # the reference 64x64 DCGAN
    batch = 16 if args.quick else 256
    n = batch * (2 if args.quick else 8)

    @torch.inference_mode()
    def raw() -> int:
        for i in range(n // batch):
            z = torch.randn(batch, 100, generator=torch.Generator().manual_seed(i)).to(dev)
            to_uint8(g(z)).cpu()
        return n

    def dataset() -> int:
        ds = SyntheticPlasticDataset(g, n, mode="scene", batch_size=batch, device=dev, seed=1)
        loader = DataLoader(ds, batch_size=batch, collate_fn=lambda items: torch.stack([im for im, _ in items]))
        return sum(len(b) for b in loader)

    got = interleaved({"raw generator(z) + uint8 (baseline)": raw, "SyntheticPlasticDataset via DataLoader": dataset},
                      args.repeat, dev, baseline="raw generator(z) + uint8 (baseline)")
    rows = [[what, batch, f"{rate:.1f}", ratio] for what, (rate, ratio) in got.items()]
    title = f"Generation on {dev}: images/s (median of {args.repeat} rounds, round-robin)"
    print(table(title, ["what", "batch", "images/s", "vs raw"], rows))
    json_rows = [{"what": r[0], "value": float(r[2]), "unit": "images/s", "ratio": r[3]} for r in rows]

    mem_rows = []
    for length in ([64, 256] if args.quick else [1024, 4096, 16384]):
        ds = SyntheticPlasticDataset(g, length, mode="scene", batch_size=batch, device=dev, cache_blocks=4)
        peak = 0
        for i in range(length):
            ds[i]
            if i % batch == batch - 1:
                peak = max(peak, sum(t.nbytes for block in ds._cache.values() for t in block))
        mem_rows.append([length, f"{peak / 2**20:.1f}", len(ds._cache)])
    print()
    print(table("Lazy SyntheticPlasticDataset: memory held after a full pass", ["length", "cached MiB (peak)",
                                                                                 "blocks cached"], mem_rows))
    json_rows += [{"what": f"lazy set of {r[0]}: cached memory (peak)", "value": float(r[1]), "unit": "MiB",
                   "ratio": float(r[1]) / float(mem_rows[0][1])} for r in mem_rows]
    write_json(args.json, title, json_rows)


if __name__ == "__main__":
    main()
