"""Publish a trained generator on the Hugging Face Hub and load it back, pinned to the pushed commit.

    hf auth login                                   # once
    python examples/push_to_hub.py runs/objects/generator your-name/marine-plastic-dcgan

The Hub endpoint comes from HF_ENDPOINT (the tests point it at a local server).
"""

from __future__ import annotations

import argparse

import torch
from huggingface_hub import HfApi

from marinegan import load_generator


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("generator_dir")
    p.add_argument("repo_id")
    args = p.parse_args()

    g = load_generator(args.generator_dir, device="cpu")  # checks config and weights before sending anything
    commit = g.push_to_hub(args.repo_id, commit_message="Upload marinegan generator")
    print(f"pushed: {commit}")
    sha = HfApi().model_info(args.repo_id).sha
    again = load_generator(args.repo_id, revision=sha, device="cpu")
    z = torch.randn(4, g.config.nz, generator=torch.Generator().manual_seed(0))
    same = torch.equal(g(z), again(z))
    print(f"loaded {args.repo_id}@{sha[:8]} back: identical outputs = {same}")
    if not same:
        raise SystemExit("the generator read back from the Hub differs from the one pushed")


if __name__ == "__main__":
    main()
