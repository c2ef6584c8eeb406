"""Encoded images in, model-ready uint8 RGB out, with memory bounded by the header.

Only PNG and JPEG are opened (PIL is told so: no other decoder, and no
PostScript interpreter behind EPS, is ever reached). An image's size is read
from its header and checked against a pixel limit *before* any pixel is
decoded, so a small file cannot claim gigabytes. 16-bit images are scaled to
8 bits, not clipped.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["FORMATS", "SUFFIXES", "ImageError", "ImageHeader", "read_header", "decode_image", "decode_header",
           "gray_to_rgb"]

FORMATS = ("PNG", "JPEG")
SUFFIXES = {".png", ".jpg", ".jpeg"}  # file names these formats go by
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I"}  # PNG's 16-bit grey opens as one of these


class ImageError(ValueError):
    """Bytes that are not a PNG or JPEG image this server decodes."""


class ImageHeader:
    """What an image's header says: its size and how many bytes decoding it takes at most."""

    def __init__(self, image: Image.Image):
        self.image = image
        self.width, self.height = image.size

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """Peak bytes to decode and convert it: 4 bytes a pixel (RGBA or 32-bit grey) twice over."""
        return 8 * self.pixels


def read_header(data: bytes, max_pixels: int = Image.MAX_IMAGE_PIXELS) -> ImageHeader:
    """Open PNG/JPEG bytes lazily (header only) and check the pixel count; raises ImageError."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as e:  # PIL's own limit, far above ours
        raise ImageError(f"{e}") from None
    except Exception:
        raise ImageError(f"not a PNG or JPEG image ({len(data)} bytes; only PNG and JPEG are decoded)") from None
    header = ImageHeader(image)
    if header.pixels > max_pixels:
        raise ImageError(f"{header.width}x{header.height} pixels exceed this server's limit of {max_pixels:,} "
                         f"pixels per image (--max-image-pixels); send the spectrum image at the model's size")
    return header


def decode_image(data: bytes, size: int, max_pixels: int = Image.MAX_IMAGE_PIXELS) -> np.ndarray:
    """PNG/JPEG bytes -> uint8 RGB [size, size, 3], resized bilinearly if needed; raises ImageError."""
    return decode_header(read_header(data, max_pixels), size)


def decode_header(header: ImageHeader, size: int) -> np.ndarray:
    """The image whose header was read (and checked) -> uint8 RGB [size, size, 3]; raises ImageError."""
    try:
        with header.image as img:
            img.load()
            if img.mode in _SIXTEEN_BIT:
                grey = np.asarray(img, dtype=np.float64)
                img = Image.fromarray(np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8), mode="L")
            if img.mode == "L" and img.size == (size, size):  # a spectrum image: its grey copied into R, G and B
                return gray_to_rgb(np.asarray(img, dtype=np.uint8))  # as convert("RGB") does, in a third of the time
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except MemoryError:
        raise ImageError(f"{header.width}x{header.height} image does not fit in memory") from None
    except Exception as e:  # truncated or corrupt files raise many kinds
        raise ImageError(f"not a decodable {header.image.format} image: {e}") from None


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """[..., H, W] uint8 -> [..., H, W, 3]: the backbones take three channels."""
    return np.repeat(gray[..., None], 3, axis=-1)
