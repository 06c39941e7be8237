"""DCGAN models: reference shapes and parameter counts, initialisation, config validation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from marinegan import ConfigError, DCGANConfig, Discriminator, Generator


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_reference_dcgan_parameter_counts():
    # Numbers of the PyTorch DCGAN example (nz=100, ngf=ndf=64, 3 channels, 64x64).
    assert n_params(Generator()) == 3_576_704
    assert n_params(Discriminator()) == 2_765_568


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [3, 4])
def test_shapes_for_every_size_and_channel_count(size, channels):
    cfg = DCGANConfig(image_size=size, channels=channels, ngf=8, ndf=8, nz=16)
    g, d = Generator(cfg), Discriminator(cfg)
    x = g(torch.randn(5, 16))
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert g(torch.randn(5, 16, 1, 1)).shape == x.shape
    assert d(x).shape == (5,)


def test_generator_rejects_wrong_latent_shape():
    with pytest.raises(ValueError, match=r"\(N, 100\)"):
        Generator()(torch.randn(2, 64))


def test_dcgan_initialisation_statistics():
    g = Generator()
    conv_w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    assert abs(conv_w.mean().item()) < 1e-3
    assert conv_w.std().item() == pytest.approx(0.02, rel=0.02)
    bn_w = torch.cat([m.weight for m in bn])
    assert bn_w.mean().item() == pytest.approx(1.0, abs=0.01)
    assert bn_w.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.all(m.bias == 0) for m in bn)


def test_spectral_norm_discriminator_has_no_batchnorm_and_bounded_sigma():
    d = Discriminator(DCGANConfig(spectral_norm=True))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    d.train()
    for _ in range(20):  # power iterations converge
        d(torch.randn(2, 3, 64, 64))
    conv = d.main[0]
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": 48}, "image_size=48"),
        ({"channels": 2}, "channels=2"),
        ({"nz": 0}, "nz=0"),
        ({"ngf": "64"}, "ngf='64'"),
    ],
)
def test_bad_config_values_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DCGANConfig(**kwargs)


def test_generate_is_reproducible_and_batch_size_independent():
    g = Generator(DCGANConfig(ngf=8, nz=8, image_size=32))
    a = g.generate(10, seed=3, batch_size=4)
    b = g.generate(10, seed=3, batch_size=10)
    c = g.generate(10, seed=4)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(a, c)


def test_truncated_latents_stay_within_the_threshold_and_keep_the_values_inside_it():
    """sample_latent(truncation=t): BigGAN's truncation trick. Every value lies within ±t; values the untruncated draw
    had inside ±t stay where they were (only the ones beyond are drawn again), so a seed's objects change little at
    a loose threshold; None draws what torch.randn draws, so recipes made before the option are unchanged; a
    threshold that is not a positive number is refused in one line."""
    g = Generator(DCGANConfig(ngf=8, nz=16, image_size=32))
    plain = g.sample_latent(500, torch.Generator().manual_seed(5))
    assert torch.equal(plain, torch.randn(500, 16, generator=torch.Generator().manual_seed(5)))
    assert torch.equal(g.sample_latent(500, torch.Generator().manual_seed(5), None), plain)
    for t in (2.0, 1.0, 0.25):
        z = g.sample_latent(500, torch.Generator().manual_seed(5), t)
        assert z.shape == plain.shape and z.abs().max() <= t
        kept = plain.abs() <= t
        assert torch.equal(z[kept], plain[kept]) and not torch.equal(z[~kept], plain[~kept])
        assert torch.equal(z, g.sample_latent(500, torch.Generator().manual_seed(5), t)), "reproducible"
    assert g.sample_latent(4000, torch.Generator().manual_seed(5), 1.0).std() < 0.6 < plain.std()
    images = g.generate(6, seed=1, truncation=0.5)
    assert images.shape == (6, 3, 32, 32) and not torch.allclose(images, g.generate(6, seed=1))
    for bad in (0, -1.0, float("inf"), float("nan"), True, "1"):
        with pytest.raises(ConfigError, match="must be a positive number of standard deviations"):
            g.sample_latent(3, truncation=bad)
