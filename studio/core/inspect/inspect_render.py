"""Colour scale and a text-free PNG fallback for inspection heatmaps (Qt-free, numpy + zlib).

The colour map is built here rather than taken from a plotting package: five anchor colours of
viridis are interpolated in CIELAB with lightness forced to rise linearly, which keeps the two
properties the UI guide asks for (perceptually uniform steps, readable without hue, i.e. by
colour-blind viewers and in greyscale print). The Qt renderer and the GUI use the same table, so
the CLI's PNGs and the app show identical colours.
"""
from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import numpy as np

VIRIDIS_ANCHORS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
ATTN_GAMMA = 0.5  # attention weights are shown on a square-root scale: uniform rows over 64 keys (0.016) stay visible


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], -1)


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    fy = (lab[:, 0] + 16) / 116
    f = np.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    minv = np.linalg.inv(np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]))
    lin = np.clip(xyz @ minv.T, 0, 1)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(np.round(c * 255), 0, 255).astype(np.uint8)


@lru_cache(maxsize=1)
def viridis_table(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 RGB, dark purple -> blue -> green -> yellow, lightness linear in L*."""
    lab = _srgb_to_lab(np.array(VIRIDIS_ANCHORS, dtype=np.float64))
    t = np.linspace(0, 1, n)
    xs = np.linspace(0, 1, len(VIRIDIS_ANCHORS))
    out = np.stack([np.interp(t, xs, lab[:, i]) for i in range(3)], -1)
    out[:, 0] = lab[0, 0] + t * (lab[-1, 0] - lab[0, 0])
    table = _lab_to_srgb(out)
    table.setflags(write=False)
    return table


def colorize(values: np.ndarray, vmin: float = 0.0, vmax: float = 1.0, gamma: float = 1.0,
             nan_rgb=(128, 128, 128)) -> np.ndarray:
    """values (...) -> RGB uint8 (..., 3) through the table; NaN (masked: the model cannot look there) -> nan_rgb."""
    v = np.asarray(values, dtype=np.float64)
    t = np.clip((v - vmin) / max(vmax - vmin, 1e-12), 0, 1) ** gamma
    idx = np.nan_to_num(t * 255, nan=0).astype(np.int64)
    rgb = viridis_table()[idx]
    return np.where(np.isnan(v)[..., None], np.asarray(nan_rgb, dtype=np.uint8), rgb)


def token_label(s: str) -> str:
    """Axis label of a token: spaces made visible (␣) so ' the' and 'the' read differently."""
    return s.replace(" ", "␣") if s.strip() != s or not s else s


def png_bytes(rgb: np.ndarray) -> bytes:
    """A minimal 8-bit RGB PNG of rgb (H, W, 3) uint8."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + np.ascontiguousarray(rgb[y]).tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def grid_image(rows: list[list[np.ndarray]], cell: int = 96, gap: int = 6, vmax: float = 1.0,
               gamma: float = 1.0) -> np.ndarray:
    """Text-free fallback: rows of heatmaps (2-D arrays) on white, colour bar (low at the bottom) at the right."""
    ncols = max((len(r) for r in rows), default=1)
    H = gap + len(rows) * (cell + gap)
    W = gap + ncols * (cell + gap) + 3 * gap
    img = np.full((max(H, 2 * gap + 64), W + 3 * gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, a in enumerate(row):
            a = np.asarray(a, dtype=np.float64)
            if a.size == 0:
                continue
            ys = (np.arange(cell) * a.shape[0] // cell)
            xs = (np.arange(cell) * a.shape[1] // cell)
            y0, x0 = gap + i * (cell + gap), gap + j * (cell + gap)
            img[y0:y0 + cell, x0:x0 + cell] = colorize(a[ys][:, xs], 0.0, vmax, gamma)
    bar = np.linspace(vmax, 0, img.shape[0] - 2 * gap)[:, None].repeat(2 * gap, 1)
    img[gap:img.shape[0] - gap, W:W + 2 * gap] = colorize(bar, 0.0, vmax, gamma)
    return img


def write_plain_png(path, rows, **kw) -> None:
    from studio.core.files.yamlio import atomic_write_bytes
    atomic_write_bytes(path, png_bytes(grid_image(rows, **kw)))
