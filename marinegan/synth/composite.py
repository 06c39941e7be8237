"""Pasting generated object sprites onto background images, with exact boxes.

Shapes: background uint8 ``(3, H, W)``; sprites uint8 ``(K, C, S, S)`` with C=4 (RGBA) or 3
(an elliptical soft mask then stands in for alpha). Boxes are XYXY pixels of the pasted object's
visible part (final alpha >= 0.5, after any blending of the mask), so they are tight and never
leave the image.

How it stays cheap (a composited sample should cost little more than reading its background):
the image stays uint8 in the channels-last layout that image decoders produce (marinegan's readers
return ``(3, H, W)`` views of such memory, so no transpose is needed); each sprite is resized once in
uint8; only the ``side x side`` region under it is touched; colour matching is one per-channel
multiply and alpha blending one OpenCV call (``cv2.blendLinear``). The result is a pure function of the
inputs and ``rng``'s state, bit for bit.

What the per-object work still costs (a blend, a resize and a colour match per object, about 0.4 ms per
sample on a 480x360 frame) is paid once per item by a materialised set: :func:`changed_patches` keeps
what compositing changed and :func:`apply_patches` writes it back onto a re-read background, which
gives the same image bit for bit.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from marinegan.synth.appearance import add_noise, blur_to_match, defocus, hazed
from marinegan.synth.placement import BoxSizes, content_region, covered_fraction

ALPHA_THRESHOLD = 0.5
_ALPHA_MIN_U8 = math.ceil(ALPHA_THRESHOLD * 255)  # alpha / 255 >= 0.5  <=>  alpha >= 128 in uint8
_LEVELS = np.repeat(np.arange(256, dtype=np.uint8).reshape(256, 1, 1), 3, axis=2)  # every uint8 level, 3 channels
BLEND_MODES = ("alpha", "hard", "gaussian", "poisson")
BOX_GROW_RANGE = (1.0, 3.0)  # CompositeOptions.box_grow: 1 keeps the tight box; 3 is far looser than any label
# fields added after ablation folders recorded their arms: repr shows them only when set
_LATER = {"blur_match": False, "noise_match": False, "haze_match": False, "grid": 0, "update_occluded": False,
          "min_contrast": 0.0, "box_grow": 1.0}


@dataclass(frozen=True)
class CompositeOptions:
    """How objects are placed and blended.

    Args:
        scale: range ``(min, max)`` of the sprite's side as a fraction of the background's short side, or
            ``"data"``: each object's box takes a long side drawn from the real boxes of its class in the
            backgrounds (:class:`~marinegan.synth.placement.BoxSizes`; Trash-ICRA19's plastic boxes have a
            long side of 0.34 of the frame's short side at the median).
        max_overlap: largest IoU allowed between a new object's box and an earlier one
            (placement is retried; an object that cannot be placed is left out, never hidden).
        max_cover: largest share of an existing box (a real one of the background, or an earlier paste)
            that a new object's box may cover. IoU misses a large paste over a small real object, which
            would hide it while its label stays.
        avoid_bars: place objects only inside the frame's black letterbox or pillarbox bars
            (:func:`~marinegan.synth.placement.content_region`), never on them.
        avoid_ignored: keep objects wholly clear of the background's ``target["ignored_boxes"]``
            (burned-in overlays such as timestamps, and classes dropped with ``ignore``).
        blend: ``"alpha"`` (the sprite's soft alpha), ``"hard"`` (alpha thresholded at 0.5),
            ``"gaussian"`` (alpha edges softened by a Gaussian blur, as in Cut, Paste and Learn,
            Dwibedi et al. 2017) or ``"poisson"`` (gradient-domain blending through OpenCV's
            ``seamlessClone`` over the alpha >= 0.5 mask; the slowest, and low-contrast objects fade).
        color_match: strength in ``[0, 1]`` of a colour match of the sprite to its surroundings: each
            channel is scaled by ``(surround mean / sprite mean) ** color_match`` (deep-sea frames carry
            strong, frame-specific colour casts). 0 turns it off.
        flip: mirror sprites left-right at random.
        min_visible_area: an object whose visible part (final alpha >= 0.5) covers fewer pixels than this,
            at its pasted size, is left out with its box: a faint speck a few pixels wide is no object a
            detector should be taught to find. 0 keeps every object with any visible pixel.
        blur_match: blur the object (edges too) until it is no sharper than the background under it
            (variance of the Laplacian; :func:`~marinegan.synth.appearance.blur_to_match`).
        noise_match: add grey noise to the object up to the background's noise level
            (:func:`~marinegan.synth.appearance.add_noise`; seeded by ``rng``'s state, not a draw from it).
        haze_match: veil a high-contrast object towards the surround's colour when the surround has less
            contrast, as water does with distance (:func:`~marinegan.synth.appearance.hazed`).
        grid: 0 places objects anywhere in the frame's picture; ``n`` divides it into ``n x n`` cells and
            gives each object a cell of its own, drawn at random, as IBURD (Hong, Singh, Sattar 2025) does,
            so pasted objects never overlap each other; an object larger than its cell is shrunk to fit.
            Objects beyond ``n * n`` are left out.
        update_occluded: when a pasted object hides part of an earlier pasted one, shrink the earlier one's
            box to what stays visible, and leave the box out when less than ``min_visible_area`` pixels
            stay (Simple Copy-Paste does this with its masks). Real objects have no masks, only boxes:
            ``max_cover`` bounds how much of them a paste may hide.
        min_contrast: an object whose paste changes the frame by less than this over its visible part (the mean
            absolute change per colour channel, in uint8 levels, after blending and any appearance match:
            :func:`pasted_contrast`) is left out with its box, as a speck is by ``min_visible_area``: a box
            around an object the frame barely shows teaches a detector that water is plastic. 0 keeps them.
        box_grow: each pasted object's box (tight around its alpha >= 0.5) is widened and heightened by this
            factor about its centre, clipped to the frame, to be the box an annotator would have drawn.
            Annotators box loosely: in Trash-ICRA19 train, the GrabCut foreground of a plastic box spans a
            median 0.75 of the box's width and height (``object_crops(...).fill``), so a cut-out
            pasted with a tight box gets a box 0.75 the size its own label had, and a detector trained on it
            learns boxes smaller than the labels it is scored against. 1.33 undoes that
            (``object_crops(...).box_grow()`` measures it). Placement is
            unchanged (it uses the tight box); 1 keeps the tight box.

    The three appearance matches are off by default (see docs/results.md for what they did to a detector).
    """

    scale: tuple[float, float] | str = (0.15, 0.45)
    max_overlap: float = 0.3
    blend: str = "alpha"
    color_match: float = 0.5
    flip: bool = True
    min_visible_area: int = 100
    max_cover: float = 0.5
    avoid_bars: bool = True
    avoid_ignored: bool = True
    blur_match: bool = False
    noise_match: bool = False
    haze_match: bool = False
    grid: int = 0
    update_occluded: bool = False
    min_contrast: float = 0.0
    box_grow: float = 1.0

    def __repr__(self) -> str:
        # fields added later (_LATER: appearance matches, grid, update_occluded, min_contrast) show only when set, so
        # the arm descriptions that ablation folders recorded before they existed (same compositing) match on resume
        shown = [(f, getattr(self, f)) for f in self.__dataclass_fields__
                 if f not in _LATER or getattr(self, f) != _LATER[f]]
        return f"CompositeOptions({', '.join(f'{f}={v!r}' for f, v in shown)})"

    def __post_init__(self) -> None:
        if isinstance(self.scale, str):
            if self.scale != "data":
                raise ValueError(f"scale={self.scale!r} must be (min, max) fractions of the short side, or 'data'")
        else:
            lo, hi = self.scale
            if not 0 < lo <= hi <= 1:
                raise ValueError(f"scale={self.scale} must satisfy 0 < min <= max <= 1 (fractions of the short side)")
        for name in ("max_overlap", "max_cover"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1]")
        if self.blend not in BLEND_MODES:
            raise ValueError(f"blend={self.blend!r} must be one of {BLEND_MODES}")
        if not 0 <= self.color_match <= 1:
            raise ValueError(f"color_match={self.color_match} must be in [0, 1] (0 = off)")
        if isinstance(self.grid, bool) or not isinstance(self.grid, int) or self.grid < 0:
            raise ValueError(f"grid={self.grid!r} must be 0 (anywhere) or a number of cells per side")
        if self.min_visible_area < 0:
            raise ValueError(f"min_visible_area={self.min_visible_area} must be >= 0 pixels")
        if not 0 <= self.min_contrast <= 255:
            raise ValueError(f"min_contrast={self.min_contrast} must be in [0, 255] (uint8 levels; 0 = off)")
        lo, hi = BOX_GROW_RANGE
        if not lo <= self.box_grow <= hi:
            raise ValueError(f"box_grow={self.box_grow} must be in [{lo:g}, {hi:g}] (1: the tight box; 1.33: "
                             "Trash-ICRA19's annotators)")


def ellipse_alpha(size: int) -> np.ndarray:
    """A soft elliptical mask, uint8 ``(size, size)``, for sprites without an alpha channel."""
    r = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    d = np.sqrt(r[None, :] ** 2 + r[:, None] ** 2)
    return np.rint(np.clip((1.0 - d) / 0.15, 0, 1) * 255).astype(np.uint8)


def resize_sprite(sprite: np.ndarray, side: int, flip: bool) -> np.ndarray:
    """A channels-last uint8 sprite ``(S, S, C)`` resized to ``(side, side, C)`` (area when shrinking)."""
    interp = cv2.INTER_AREA if side < sprite.shape[0] else cv2.INTER_LINEAR
    out = cv2.resize(sprite, (side, side), interpolation=interp)
    if flip:
        out = cv2.flip(out, 1)
    return out[:, :, None] if out.ndim == 2 else out


def sprite_alpha(sprite: np.ndarray, blend: str) -> np.ndarray:
    """The final alpha, uint8 ``(side, side)``, of a resized channels-last sprite under ``blend``."""
    side = sprite.shape[0]
    alpha = cv2.extractChannel(sprite, 3) if sprite.shape[2] == 4 else ellipse_alpha(side)
    if blend in ("hard", "poisson"):
        return np.where(alpha >= _ALPHA_MIN_U8, 255, 0).astype(np.uint8)
    if blend == "gaussian":
        k = max(3, (side // 12) | 1)
        return cv2.GaussianBlur(alpha, (k, k), 0)
    return alpha


def color_matched(rgb: np.ndarray, region: np.ndarray, visible: np.ndarray, strength: float) -> np.ndarray:
    """``rgb`` uint8 ``(s, s, 3)`` with each channel scaled towards the colour of the background ``region``.

    ``region`` is the background under the sprite's square before pasting, so its plain mean is the
    local background colour; the sprite's own colour is its mean where ``visible``. The gain per
    channel is ``((surround + 8) / (own + 8)) ** strength``, clamped to [0.5, 2]; OpenCV applies it
    with rounding and saturation, so the result stays uint8. It is applied as a look-up table: the 256
    levels of each channel are multiplied once (the same ``cv2.multiply``), then ``cv2.LUT`` maps the
    pixels, which costs a fraction of multiplying every pixel and gives the same bytes.
    """
    if strength == 0:
        return rgb
    rgb = np.ascontiguousarray(rgb)
    surround, own = cv2.mean(region), cv2.mean(rgb, mask=visible.view(np.uint8))
    gain = [min(2.0, max(0.5, (s + 8) / (o + 8))) ** strength for s, o in zip(surround[:3], own[:3], strict=True)]
    return cv2.LUT(rgb, cv2.multiply(_LEVELS, (*gain, 0.0)))


def blend_region(rgb: np.ndarray, region: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * rgb + (1 - alpha) * region``, uint8 ``(s, s, 3)`` (OpenCV rounds to nearest)."""
    w = alpha.astype(np.float32)
    w *= np.float32(1 / 255)
    return cv2.blendLinear(np.ascontiguousarray(rgb), np.ascontiguousarray(region), w, 1 - w)


def pasted_contrast(square: np.ndarray, region: np.ndarray, visible: np.ndarray) -> float:
    """How much a paste changed the frame where the object shows: the mean absolute difference, per colour
    channel and then averaged, between the composited ``square`` and the background ``region`` it replaced
    (both uint8 ``(s, s, 3)``), over the ``visible`` pixels (bool ``(s, s)``), in uint8 levels."""
    return float(np.mean(cv2.mean(cv2.absdiff(square, region), mask=visible.view(np.uint8))[:3]))


def _rgb(sprite: np.ndarray) -> np.ndarray:
    """The colour channels of a channels-last sprite, contiguous."""
    return cv2.cvtColor(sprite, cv2.COLOR_BGRA2BGR) if sprite.shape[2] == 4 else np.ascontiguousarray(sprite)


def _max_iou(box: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> float:
    """Largest IoU of ``box`` with any of a few ``others`` (plain floats: cheaper than arrays for a handful)."""
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    best = 0.0
    for a0, b0, a1, b1 in others:
        iw, ih = min(x1, a1) - max(x0, a0), min(y1, b1) - max(y0, b0)
        if iw > 0 and ih > 0:
            inter = iw * ih
            best = max(best, inter / (area + (a1 - a0) * (b1 - b0) - inter))
    return best


def _poisson(out: np.ndarray, rgb: np.ndarray, visible: np.ndarray, x0: int, y0: int) -> np.ndarray | None:
    """Seamless-clone ``rgb`` into ``out`` (channels-last uint8) at ``(x0, y0)`` over ``visible``.

    Returns the new region, or None when OpenCV cannot clone there (the mask touches the image
    border); the caller then alpha-blends.
    """
    side = rgb.shape[0]
    h, w = out.shape[:2]
    rows, cols = np.flatnonzero(visible.any(1)), np.flatnonzero(visible.any(0))
    bx0, by0, bx1, by1 = cols[0] + x0, rows[0] + y0, cols[-1] + 1 + x0, rows[-1] + 1 + y0
    if bx0 < 1 or by0 < 1 or bx1 > w - 1 or by1 > h - 1:
        return None
    src = out.copy()
    src[y0 : y0 + side, x0 : x0 + side] = rgb
    mask = np.zeros((h, w), np.uint8)
    mask[y0 : y0 + side, x0 : x0 + side] = visible.astype(np.uint8) * 255
    bw, bh = int(bx1 - bx0), int(by1 - by0)
    center = (int(bx0) + bw // 2, int(by0) + bh // 2)  # OpenCV centres the mask's bounding box here: no shift
    try:
        cloned = cv2.seamlessClone(src[:, :, ::-1].copy(), out[:, :, ::-1].copy(), mask, center, cv2.NORMAL_CLONE)
    except cv2.error:
        return None
    return cloned[y0 : y0 + side, x0 : x0 + side, ::-1]


def channels_last(background: torch.Tensor) -> np.ndarray:
    """A writable channels-last uint8 copy ``(H, W, 3)`` of a ``(3, H, W)`` image tensor."""
    if background.dtype != torch.uint8:
        background = background.round().clamp(0, 255).to(torch.uint8)
    return np.array(background[:3].permute(1, 2, 0).numpy(), order="C", copy=True)  # never write into the input


Region = tuple[int, int, int]  # (x0, y0, side): the square a pasted object was blended into
Patch = tuple[int, int, np.ndarray]  # (y, x, uint8 (h, w, 3)): pixels to write back at (y, x)


def paste_objects(
    out: np.ndarray,
    sprites: torch.Tensor,
    rng: torch.Generator,
    options: CompositeOptions,
    occupied: torch.Tensor | None = None,
    ignored: torch.Tensor | None = None,
    sizes: BoxSizes | None = None,
) -> tuple[torch.Tensor, torch.Tensor, list[Region]]:
    """Paste ``sprites`` into ``out`` (channels-last uint8 ``(H, W, 3)``, written in place).

    Overlaps the ``occupied`` boxes ``(M, 4)`` (the background's real objects) by at most
    ``options.max_overlap`` IoU and ``options.max_cover`` of their area, keeps wholly clear of the
    ``ignored`` boxes (with ``options.avoid_ignored``) and, with ``options.avoid_bars``, stays inside the
    frame's black bars. ``sizes`` (needed by ``scale="data"``) gives each object's box long side.

    Returns ``(boxes float (K', 4) XYXY, kept long (K',), regions)``: ``kept`` indexes the sprites that were placed
    (left out: a sprite whose visible part is under ``options.min_visible_area`` pixels, one without room, and one
    whose paste would change the frame by less than ``options.min_contrast``) and ``regions`` holds the
    ``(x0, y0, side)`` square each placed object was blended into, in order; nothing outside them is written.
    Random draws: with ``options.grid``, first one permutation of the cells; then per sprite, in order, side and
    flip (2 uniforms), then up to 10 placements (2 each, inside its cell with a grid); none is drawn for the
    appearance matches, so they leave every box where it was.
    """
    h, w = out.shape[:2]
    short = min(h, w)
    boxes: list[tuple[float, float, float, float]] = []
    kept: list[int] = []
    regions: list[Region] = []
    taken = [tuple(b) for b in occupied.float().reshape(-1, 4).tolist()] if occupied is not None else []
    keep_clear = [tuple(b) for b in torch.as_tensor(ignored).float().reshape(-1, 4).tolist()] \
        if ignored is not None and options.avoid_ignored else []
    picture = content_region(out) if options.avoid_bars else (0, 0, w, h)
    if options.scale == "data" and sizes is None:
        raise ValueError("scale='data' needs sizes= (BoxSizes of the real boxes)")
    sprites_hwc = np.ascontiguousarray(sprites.permute(0, 2, 3, 1).numpy())
    cells = _grid_cells(picture, options.grid, rng) if options.grid else None
    shown: list[np.ndarray] = []  # with update_occluded: each placed object's still-visible part, in its square
    for k in range(len(sprites_hwc)):
        u = torch.rand(2, generator=rng).tolist()
        side = _side(sprites_hwc[k], u[0], short, options, sizes)
        if cells == []:
            break  # a grid holds one object per cell
        rx0, ry0, rx1, ry1 = cells.pop() if cells else picture  # where this object may go
        side = max(4, min(side, rx1 - rx0, ry1 - ry0))
        s = resize_sprite(sprites_hwc[k], side, options.flip and u[1] < 0.5)
        alpha = sprite_alpha(s, options.blend)
        visible = alpha >= _ALPHA_MIN_U8
        bx, by, bw, bh = cv2.boundingRect(visible.view(np.uint8))
        if bw == 0 or cv2.countNonZero(visible.view(np.uint8)) < max(1, options.min_visible_area):
            continue
        for _ in range(10):
            xy = torch.rand(2, generator=rng).tolist()
            x0, y0 = rx0 + int(xy[0] * (rx1 - rx0 - side + 1)), ry0 + int(xy[1] * (ry1 - ry0 - side + 1))
            box = (float(bx + x0), float(by + y0), float(bx + bw + x0), float(by + bh + y0))
            if (not taken or (_max_iou(box, taken) <= options.max_overlap
                              and covered_fraction(box, taken) <= options.max_cover)) \
                    and not covered_fraction(box, keep_clear):
                break
        else:
            continue
        region = out[y0 : y0 + side, x0 : x0 + side]  # the background under the object, until written below
        rgb = color_matched(_rgb(s), region, visible, options.color_match)
        if options.haze_match:
            rgb = hazed(rgb, alpha, region)
        sigma = blur_to_match(rgb, alpha, region) if options.blur_match else 0.0
        # the noise is seeded by the generator's state, without a draw from it: it moves no placement
        noise_seed = zlib.crc32(rng.get_state().numpy().tobytes()) if options.noise_match else None
        pasted = _poisson(out, rgb, visible, x0, y0) if options.blend == "poisson" else None
        square = pasted if pasted is not None else blend_region(rgb, region, alpha)
        if sigma:
            square = defocus(square, region, alpha, sigma)
        if noise_seed is not None:
            square = add_noise(square, alpha, region, noise_seed)
        if options.min_contrast and pasted_contrast(square, region, visible) < options.min_contrast:
            continue  # the frame would barely show it: no object, and no box
        out[y0 : y0 + side, x0 : x0 + side] = square
        if options.update_occluded:
            _hide(shown, regions, visible, x0, y0)
            shown.append(visible.copy())
        boxes.append(box)
        taken.append(box)
        kept.append(k)
        regions.append((x0, y0, side))
    if options.update_occluded:
        boxes, kept = _visible_boxes(shown, regions, kept, options.min_visible_area)
    if options.box_grow != 1:
        boxes = [grown(b, options.box_grow, w, h) for b in boxes]
    box_tensor = torch.tensor(boxes, dtype=torch.float32) if boxes else torch.zeros(0, 4)
    return box_tensor, torch.tensor(kept, dtype=torch.long), regions


def grown(box: tuple[float, float, float, float], factor: float, width: int,
          height: int) -> tuple[float, float, float, float]:
    """An XYXY ``box`` widened and heightened ``factor`` times about its centre, clipped to the ``width`` x
    ``height`` frame (plain floats: a handful of boxes per frame costs less than tensor calls)."""
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * factor / 2, (y1 - y0) * factor / 2
    return max(0.0, cx - hw), max(0.0, cy - hh), min(float(width), cx + hw), min(float(height), cy + hh)


def _hide(shown: list[np.ndarray], regions: list[Region], visible: np.ndarray, x0: int, y0: int) -> None:
    """Take the new object's ``visible`` pixels (its square at ``(x0, y0)``) out of the earlier objects' ``shown``."""
    side = visible.shape[0]
    for (px, py, pside), mask in zip(regions, shown, strict=True):
        ix0, iy0, ix1, iy1 = max(x0, px), max(y0, py), min(x0 + side, px + pside), min(y0 + side, py + pside)
        if ix0 < ix1 and iy0 < iy1:
            mask[iy0 - py : iy1 - py, ix0 - px : ix1 - px] &= ~visible[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]


def _visible_boxes(shown: list[np.ndarray], regions: list[Region], kept: list[int],
                   min_area: int) -> tuple[list[tuple[float, float, float, float]], list[int]]:
    """The tight boxes of what stays visible of each placed object, leaving out those under ``min_area`` pixels."""
    boxes, still = [], []
    for (px, py, _), mask, k in zip(regions, shown, kept, strict=True):
        if cv2.countNonZero(mask.view(np.uint8)) < max(1, min_area):
            continue
        bx, by, bw, bh = cv2.boundingRect(mask.view(np.uint8))
        boxes.append((float(px + bx), float(py + by), float(px + bx + bw), float(py + by + bh)))
        still.append(k)
    return boxes, still


def _grid_cells(region: tuple[int, int, int, int], n: int, rng: torch.Generator) -> list[tuple[int, int, int, int]]:
    """The ``n x n`` cells ``(x0, y0, x1, y1)`` of ``region``, in a random order (one permutation drawn),
    to be taken from the end."""
    x0, y0, x1, y1 = region
    xs = [x0 + (x1 - x0) * i // n for i in range(n + 1)]
    ys = [y0 + (y1 - y0) * i // n for i in range(n + 1)]
    return [(xs[c % n], ys[c // n], xs[c % n + 1], ys[c // n + 1]) for c in torch.randperm(n * n, generator=rng)]


def _side(sprite: np.ndarray, u: float, short: int, options: CompositeOptions, sizes: BoxSizes | None) -> int:
    """The pasted side of a channels-last sprite for the uniform draw ``u``: a fraction of the frame's short side
    (``scale=(min, max)``), or the side at which its visible box's long side is a drawn real one (``"data"``)."""
    if options.scale != "data":
        lo, hi = options.scale
        return int(round((lo + (hi - lo) * u) * short))
    alpha = cv2.extractChannel(sprite, 3) if sprite.shape[2] == 4 else ellipse_alpha(sprite.shape[0])
    _, _, bw, bh = cv2.boundingRect((alpha >= _ALPHA_MIN_U8).view(np.uint8))
    visible = max(bw, bh, 1) / sprite.shape[0]  # the object's share of its sprite's side
    return int(round(sizes.sample(u) * short / visible))


def composite(
    background: torch.Tensor,
    sprites: torch.Tensor,
    rng: torch.Generator,
    options: CompositeOptions,
    occupied: torch.Tensor | None = None,
    ignored: torch.Tensor | None = None,
    sizes: BoxSizes | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paste ``sprites`` onto a copy of ``background``, keeping clear of the ``occupied`` boxes ``(M, 4)`` too.

    Returns ``(image uint8 (3, H, W), boxes float (K', 4) XYXY, kept long (K',))`` as :func:`paste_objects`.
    The image is a ``(3, H, W)`` view of channels-last memory, as marinegan's readers return; the
    background is never written into.
    """
    out = channels_last(background)
    boxes, kept, _ = paste_objects(out, sprites, rng, options, occupied, ignored, sizes)
    return torch.from_numpy(out).permute(2, 0, 1), boxes, kept


def changed_patches(before: np.ndarray, after: np.ndarray, regions: list[Region]) -> list[Patch]:
    """What compositing changed: per region, the smallest crop of ``after`` holding every pixel that differs.

    ``before`` and ``after`` are channels-last uint8 ``(H, W, 3)``. Writing the patches back into a copy of
    ``before`` (:func:`apply_patches`, in any order: each holds final pixels) gives ``after`` exactly, since
    compositing writes nowhere outside its regions. Regions whose pixels did not change give no patch.
    """
    patches: list[Patch] = []
    channels = after.shape[2]
    for x0, y0, side in regions:
        changed = cv2.compare(before[y0 : y0 + side, x0 : x0 + side], after[y0 : y0 + side, x0 : x0 + side],
                              cv2.CMP_NE)  # (side, side, C), 255 where a channel differs
        # one row of C * side values per image row: its bounding rect, in pixels, is columns // C
        x, y, w, h = cv2.boundingRect(changed.reshape(side, side * channels))
        if w:
            left, right = x0 + x // channels, x0 + (x + w - 1) // channels + 1
            patches.append((y0 + y, left, after[y0 + y : y0 + y + h, left:right].copy()))
    return patches


def apply_patches(out: np.ndarray, patches: list[Patch]) -> np.ndarray:
    """Write ``patches`` (from :func:`changed_patches`) into ``out`` (channels-last uint8) in place; returns it."""
    for y, x, patch in patches:
        out[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return out
