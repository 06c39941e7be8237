"""Making a pasted object look like the frame around it: its sharpness, its noise and its haze.

A generated sprite is upsampled from 64 px and noise-free, a cut-out comes from another frame; either
stands out from a soft, grainy, hazy deep-sea frame by more than its colour (which
:func:`~marinegan.synth.composite.color_matched` handles). IBURD (Hong, Singh, Sattar 2025) transfers the
background's blurriness to pasted debris; these are three cheap, local measurements of the frame around
the spot and a matching change of the object. All work on channels-last uint8 squares ``(s, s, 3)``, the
``side x side`` region an object is pasted into, with its alpha ``(s, s)`` uint8.

- **Sharpness**: the variance of the Laplacian (of the grey image) over a region. The object is blurred
  with the smallest Gaussian of :data:`BLUR_SIGMAS` whose result is no sharper than the background under
  it; an object already as soft as its surround is left alone. Texture raises the measure as focus does,
  so a flat patch of water reads as soft and softens the object (up to the ladder's largest sigma).
- **Noise**: a robust estimate of the standard deviation of white noise (Immerkaer's 3x3 operator, whose
  response to noise of std ``s`` has std ``6 s``, taken as 1.4826 times its median absolute value, so that
  edges barely count). Grey Gaussian noise tops the object's own level up to the surround's.
- **Haze**: deep-sea water veils distant objects towards its own colour (``I = t J + (1 - t) A``). The
  object is pulled towards the surround's mean colour by ``t = clip(surround std / object std, 0.6, 1)``:
  a high-contrast object on a low-contrast, murky background loses contrast as a veiled one would.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BLUR_SIGMAS = (0.6, 0.9, 1.3, 1.8, 2.5, 3.5)  # the Gaussian blurs tried, smallest first (pixels)
MIN_HAZE = 0.6  # the least transmission haze matching leaves an object
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # Immerkaer 1996
_MIN_PIXELS = 25  # fewer object pixels than this: too few to measure, leave the object alone


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def interior(alpha: np.ndarray, margin: int = 2) -> np.ndarray:
    """The object's pixels at least ``margin`` px inside its visible edge (alpha >= 128): a uint8 mask
    ``(s, s)``, where the alpha boundary itself (a sharp cut) does not count as the object's texture."""
    mask = (alpha >= 128).astype(np.uint8)
    return cv2.erode(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) if margin else mask


def sharpness(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of ``rgb``'s grey image, over ``mask`` (uint8, non-zero = in) or all of it."""
    lap = cv2.Laplacian(_grey(rgb), cv2.CV_32F)
    _, std = cv2.meanStdDev(lap, mask=mask)
    return float(std[0, 0]) ** 2


def noise_level(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Standard deviation (grey levels) of the white noise in ``rgb``, over ``mask`` or all of it."""
    response = np.abs(cv2.filter2D(_grey(rgb), cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT))
    values = response[1:-1, 1:-1] if mask is None else response[1:-1, 1:-1][mask[1:-1, 1:-1] > 0]
    return 1.4826 * float(np.median(values)) / 6 if values.size else 0.0


def blur_to_match(rgb: np.ndarray, alpha: np.ndarray, surround: np.ndarray) -> float:
    """The Gaussian sigma (0: none) that makes the object in ``rgb`` (under ``alpha``) no sharper than
    ``surround``, the background square it is pasted into; the largest of :data:`BLUR_SIGMAS` at most."""
    inside = interior(alpha)
    if cv2.countNonZero(inside) < _MIN_PIXELS:
        return 0.0
    target = sharpness(surround)
    if sharpness(rgb, inside) <= target:
        return 0.0
    for sigma in BLUR_SIGMAS:
        if sharpness(cv2.GaussianBlur(rgb, (0, 0), sigma), inside) <= target:
            return sigma
    return BLUR_SIGMAS[-1]


def defocus(square: np.ndarray, region: np.ndarray, alpha: np.ndarray, sigma: float) -> np.ndarray:
    """The composited ``square`` with the object (``alpha``) blurred by ``sigma``, edges included, over the
    untouched background ``region``: ``w * blur(square) + (1 - w) * region`` with ``w = blur(alpha)``."""
    if sigma <= 0:
        return square
    blurred = cv2.GaussianBlur(square, (0, 0), sigma)
    w = cv2.GaussianBlur(alpha.astype(np.float32) * np.float32(1 / 255), (0, 0), sigma)
    return cv2.blendLinear(blurred, np.ascontiguousarray(region), w, 1 - w)


def hazed(rgb: np.ndarray, alpha: np.ndarray, surround: np.ndarray) -> np.ndarray:
    """``rgb`` veiled towards ``surround``'s mean colour as far as their contrasts (grey std) differ."""
    visible = (alpha >= 128).astype(np.uint8)
    if cv2.countNonZero(visible) < _MIN_PIXELS:
        return rgb
    own = float(cv2.meanStdDev(_grey(rgb), mask=visible)[1][0, 0])
    around = float(cv2.meanStdDev(_grey(surround))[1][0, 0])
    t = min(1.0, max(MIN_HAZE, (around + 1) / (own + 1)))
    if t >= 1.0:
        return rgb
    veil = np.array(cv2.mean(surround)[:3], np.float32)
    out = rgb.astype(np.float32) * np.float32(t) + veil * np.float32(1 - t)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def add_noise(square: np.ndarray, alpha: np.ndarray, surround: np.ndarray, seed: int) -> np.ndarray:
    """``square`` with grey Gaussian noise on the object (weighted by ``alpha``) that tops its noise level
    up to ``surround``'s; ``seed`` fixes the noise."""
    inside = interior(alpha)
    if cv2.countNonZero(inside) < _MIN_PIXELS:
        return square
    missing = noise_level(surround) ** 2 - noise_level(square, inside) ** 2
    if missing <= 0:
        return square
    side = square.shape[0]
    noise = np.random.default_rng(seed).standard_normal((side, side, 1), dtype=np.float32)
    noise *= np.float32(math.sqrt(missing)) * (alpha.astype(np.float32)[:, :, None] * np.float32(1 / 255))
    return np.clip(np.rint(square.astype(np.float32) + noise), 0, 255).astype(np.uint8)
