"""A realism filter for generated objects: keep the ones that look most like real ones.

Hong, Fulton and Sattar (2019) filter generated trash images with a classifier before using them;
X-Paste (Zhao et al. 2023) keeps generated instances by score; discriminator rejection sampling
(Azadi et al. 2019) asks the GAN's own discriminator. :func:`realism_scores` rates a batch of generated
sprites with a *judge*, either

- **real cut-outs** (``object_crops(...)`` or uint8 ``(N, 4, S, S)``): the *realism score* of
  Kynkaenniemi et al. (2019), ``max over real r of radius_k(r) / distance(sprite, r)``, where
  ``radius_k(r)`` is the distance from ``r`` to its ``k``-th nearest real neighbour; above 1, the sprite
  lies inside some real object's neighbourhood. Distances are taken in a small appearance space (16x16
  alpha-premultiplied colour and the alpha itself, so shape and colour both count). Dividing by the
  local radius keeps it from favouring small, dark objects, which a plain nearest-neighbour distance
  does (they are near everything in pixel space); or
- **a discriminator** (:class:`~marinegan.Discriminator`, the one trained beside the generator): its logit.

:class:`~marinegan.SpriteBank` uses it to keep the best ``keep`` share of ``size / keep`` candidates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from marinegan.errors import ConfigError

FEATURE_SIDE = 16


def appearance_features(images: torch.Tensor) -> torch.Tensor:
    """uint8 RGBA ``(N, 4, S, S)`` to float ``(N, 4 * 16 * 16)``: premultiplied colour and alpha, area-resized."""
    x = images.float() / 255
    rgb, alpha = x[:, :3] * x[:, 3:4], x[:, 3:4]
    return F.adaptive_avg_pool2d(torch.cat([rgb, alpha], 1), FEATURE_SIDE).flatten(1)


@torch.inference_mode()
def realism_scores(sprites: torch.Tensor, judge: object, k: int = 3) -> torch.Tensor:
    """Scores ``(N,)`` of uint8 sprites ``(N, C, S, S)``, higher = more real, by ``judge`` (see the module)."""
    from marinegan.models.dcgan import Discriminator

    if isinstance(judge, Discriminator):
        if tuple(sprites.shape[1:]) != (judge.config.channels, judge.config.image_size, judge.config.image_size):
            raise ConfigError(f"the discriminator takes ({judge.config.channels}, {judge.config.image_size}, "
                              f"{judge.config.image_size}) images, the sprites are {tuple(sprites.shape[1:])}: "
                              "use the discriminator trained with this generator")
        judge = judge.cpu().eval()
        return torch.cat([judge(sprites[i : i + 256].float() / 127.5 - 1) for i in range(0, len(sprites), 256)])
    reference = getattr(judge, "images", judge)
    if not isinstance(reference, torch.Tensor) or reference.dtype != torch.uint8 or reference.dim() != 4 \
            or reference.shape[1] != 4 or not len(reference):
        raise ConfigError("a realism judge is real cut-outs (object_crops(..., alpha='grabcut'), RGBA) or a "
                          "Discriminator")
    if sprites.shape[1] != 4:
        raise ConfigError("judging by real cut-outs needs RGBA sprites (a generator trained with alpha)")
    real = appearance_features(reference)
    if len(real) <= k:
        raise ConfigError(f"the realism judge needs more than k={k} real cut-outs, got {len(real)}")
    # each real object's k-NN radius among the real ones (its own distance, 0, is the first)
    radius = torch.cdist(real, real).kthvalue(k + 1, dim=1).values
    distances = torch.cdist(appearance_features(sprites), real)
    return (radius[None] / distances.clamp_min(1e-6)).max(1).values
