"""Screenshot difference with Pillow: the share of pixels that changed, and a picture of where."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageChops

TOLERANCE = 32  # per-channel difference below this is anti-aliasing or font hinting, not change
MAX_PIXELS = 40_000_000  # larger images are refused as input (a look never makes them)


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    if image.width * image.height > MAX_PIXELS:
        raise ValueError("picture too large")
    return image.convert("RGB")


@dataclass(frozen=True)
class Difference:
    """How two pictures differ: the share of changed pixels, and where (drawn on request:
    most looks keep no picture, and encoding one costs more than comparing)."""

    ratio: float
    new: Image.Image
    mask: Image.Image

    def picture(self) -> bytes:
        """A PNG of the new picture faded, with the changed pixels in red over it."""
        size = self.new.size
        faded = Image.blend(self.new, Image.new("RGB", size, "white"), 0.7)
        red = Image.blend(faded, Image.new("RGB", size, (220, 0, 0)), 0.75)
        faded.paste(red, (0, 0), self.mask)
        out = io.BytesIO()
        faded.save(out, "PNG", compress_level=3)
        return out.getvalue()


def difference(before: bytes, after: bytes) -> Difference:
    """Compare two PNGs; a size change counts as difference."""
    old, new = _open(before), _open(after)
    common = (min(old.width, new.width), min(old.height, new.height))
    width, height = max(old.width, new.width), max(old.height, new.height)
    if old.size != (width, height):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(old, (0, 0))
        old = canvas
    if new.size != (width, height):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(new, (0, 0))
        new = canvas
    # the largest channel difference of each pixel, then changed / unchanged
    channels = ImageChops.difference(old, new).split()
    delta = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    mask = delta.point(lambda v: 255 if v >= TOLERANCE else 0)
    if common != (width, height):  # beyond either picture's own area everything changed
        outside = Image.new("L", (width, height), 255)
        outside.paste(0, (0, 0, *common))
        mask = ImageChops.lighter(mask, outside)
    changed = mask.histogram()[255]
    return Difference(changed / float(width * height) if width * height else 0.0, new, mask)
