"""The generator shipped in the package: loads offline, is documented honestly, and composites."""

from __future__ import annotations

import torch

from marinegan import SyntheticPlasticDataset, YoloDataset, load_generator
from marinegan.hub import DEFAULT_GENERATOR_DIR
from marinegan.toydata import make_toy_yolo


def test_default_generator_loads_without_the_network(hub_server):
    before = len(hub_server.hub.requests)
    g = load_generator("default", device="cpu")
    assert len(hub_server.hub.requests) == before
    assert g.config.channels == 4 and g.config.image_size == 64
    assert (DEFAULT_GENERATOR_DIR / "model.safetensors").stat().st_size < 8 * 2**20, "a few MB at most"
    images = g.generate(16, seed=0)
    assert images.shape == (16, 4, 64, 64)
    alpha = images[:, 3]
    assert (alpha[:, 28:36, 28:36].mean() > 0.5) and (alpha[:, :4, :4].mean() < 0), "objects centred, edges clear"


def test_default_generator_card_records_data_terms_recipe_and_command():
    card = " ".join((DEFAULT_GENERATOR_DIR / "README.md").read_text().split())
    for needed in ("Trash-ICRA19", "Fulton", "J-EDI", "JAMSTEC", "GrabCut cut-outs of the `plastic` boxes",
                   "commercial use needs JAMSTEC's permission", "carry the same terms", "license: other",
                   "seed 0", "4000 steps", "DiffAugment 'color,translation,cutout'", "EMA 0.999",
                   "python examples/train_default_generator.py --data"):
        assert needed in card, needed
    assert "toy" not in card.lower()


def test_default_generator_makes_composite_detection_samples(tmp_path):
    real = YoloDataset(make_toy_yolo(tmp_path / "r", n=4, size=128, single_class="plastic"))
    ds = SyntheticPlasticDataset("default", 6, backgrounds=real, device="cpu")
    image, target = ds[5]
    assert image.shape == (3, 128, 128) and len(target["boxes"]) > len(real[target["background_index"]][1]["boxes"])
    assert torch.equal(ds[5][0], SyntheticPlasticDataset("default", 6, backgrounds=real, device="cpu")[5][0])
