"""The realism filter (issue 17): a generator's bank keeps the objects a judge (real cut-outs, or the
discriminator) rates most real."""

from __future__ import annotations

import pytest
import torch

from marinegan import DCGANConfig, Discriminator, Generator
from marinegan.errors import ConfigError
from marinegan.evaluate.ablation import FreshArm
from marinegan.synth.realism import realism_scores
from marinegan.transforms import SpriteBank


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    g = Generator(DCGANConfig(image_size=32, channels=4, ngf=8, nz=16))
    with torch.no_grad():  # make the alpha channel vary across latents so the objects differ in shape
        g.main[-2].weight[:, 3].mul_(20)
    return g.eval()


def test_the_filter_keeps_the_objects_closest_to_the_real_ones(generator):
    candidates = SpriteBank(generator, size=40, seed=3).sprites(0)  # what keep=0.2 generates: 40 for 8 kept
    real = candidates[[2, 7, 11, 19, 23, 30, 34, 38]]  # stand-ins for real cut-outs: 8 of the candidates
    kept = SpriteBank(generator, size=8, seed=3, keep=0.2, judge=real).sprites(0)
    assert torch.equal(kept, real), "each reference is at distance 0 from itself: exactly those are kept, in order"
    again = SpriteBank(generator, size=8, seed=3, keep=0.2, judge=real)
    assert torch.equal(again.sprites(0), kept) and not torch.equal(again.sprites(1), kept)  # (seed, epoch)
    assert "the most realistic 0.2" in repr(again)


def test_a_discriminator_judges_by_its_logit(generator):
    torch.manual_seed(1)
    critic = Discriminator(DCGANConfig(image_size=32, channels=4, ndf=8)).eval()
    candidates = SpriteBank(generator, size=30, seed=0).sprites(0)
    kept = SpriteBank(generator, size=10, seed=0, keep=1 / 3, judge=critic).sprites(0)
    scores = realism_scores(candidates, critic)
    best = set(scores.topk(10).indices.tolist())
    assert len(kept) == 10 and all(any(torch.equal(k, candidates[i]) for i in best) for k in kept)
    assert scores[sorted(best)].min() >= scores[sorted(set(range(30)) - best)].max()
    small = Discriminator(DCGANConfig(image_size=64, channels=4, ndf=8))
    with pytest.raises(ConfigError, match="use the discriminator trained with this generator"):
        realism_scores(candidates, small)


def test_bad_filters_are_refused_in_one_line(generator):
    cutouts = SpriteBank(generator, size=4).sprites(0)
    with pytest.raises(ConfigError, match="needs judge="):
        SpriteBank(generator, keep=0.5)
    with pytest.raises(ConfigError, match=r"share in \(0, 1\]"):
        SpriteBank(generator, keep=0, judge=cutouts)
    with pytest.raises(ConfigError, match="cut-outs are real objects already"):
        SpriteBank(cutouts, keep=0.5, judge=cutouts)
    with pytest.raises(ConfigError, match="RGBA"):
        realism_scores(cutouts, cutouts[:, :3])


def test_the_fresh_arm_names_its_filter(generator):
    real = SpriteBank(generator, size=6, seed=9).sprites(0)
    plain, filtered = FreshArm(generator), FreshArm(generator, keep=0.5, judge=real)
    assert "realistic" not in plain.describe()
    assert "the most realistic 0.5 by Tensor" in filtered.describe()
    assert FreshArm(generator, keep=0.5, judge=real[:3]).describe() != filtered.describe()


def test_the_recipe_of_docs_results_is_the_default(generator):
    """A generator bank with a judge keeps its most realistic 0.75, and PasteObjects pastes at 0.2-0.7 of the short
    side with boxes grown 1.33 times (the best recipe of docs/results.md); without a judge, or for cut-outs, no
    filter."""
    from marinegan.transforms import PasteObjects

    cutouts = SpriteBank(generator, size=8).sprites(0)
    assert SpriteBank(generator, size=4, judge=cutouts).keep == 0.75
    assert len(SpriteBank(generator, size=6, judge=cutouts).sprites(0)) == 6  # 8 generated, the best 6 kept
    assert SpriteBank(generator, size=4).keep == 1 and SpriteBank(cutouts).keep == 1
    assert FreshArm(generator, judge=cutouts).keep == 0.75 and FreshArm(generator).keep == 1
    options = PasteObjects(SpriteBank(cutouts), label=1).options
    assert options.scale == (0.2, 0.7) and options.box_grow == 1.33
