"""``sensor_msgs/Image`` <-> numpy conversion with cv_bridge semantics, for installs without cv_bridge.

Supported encodings: rgb8, bgr8, rgba8, bgra8, mono8, mono16, 8UC1, 8UC3, 16UC1, 32FC1, 32SC1, 64FC1. Conversion is
exact (no scaling), honours ``step`` (row padding) and ``is_bigendian``, and never loops over pixels in Python.
"""
from __future__ import annotations

import sys

import numpy as np
from sensor_msgs.msg import Image

# encoding -> (numpy dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "8UC3": (np.dtype(np.uint8), 3),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
    "32SC1": (np.dtype(np.int32), 1),
    "64FC1": (np.dtype(np.float64), 1),
}


class ImageConversionError(ValueError):
    """The image cannot be converted (unknown encoding, inconsistent size or step)."""


def image_to_numpy(msg: Image) -> np.ndarray:
    """Return the pixels of ``msg`` as an array of shape (H, W) or (H, W, C) in the message's own encoding.

    The result is a copy in native byte order, so it stays valid after the message is gone.
    """
    if msg.encoding not in ENCODINGS:
        raise ImageConversionError(f"unsupported encoding '{msg.encoding}'; supported: {sorted(ENCODINGS)}")
    dtype, channels = ENCODINGS[msg.encoding]
    if msg.width == 0 or msg.height == 0:
        return np.zeros((0, 0) if channels == 1 else (0, 0, channels), dtype=dtype)
    row_bytes = msg.width * channels * dtype.itemsize
    if msg.step < row_bytes:
        raise ImageConversionError(f"step {msg.step} is smaller than width*channels*itemsize = {row_bytes}")
    try:  # array.array (what rclpy gives for uint8[]), bytes and memoryview expose their buffer: no copy here
        buf = np.frombuffer(msg.data, dtype=np.uint8)
    except TypeError:  # a plain sequence of ints
        buf = np.asarray(msg.data, dtype=np.uint8)
    if buf.size < msg.step * msg.height:
        raise ImageConversionError(f"data has {buf.size} bytes, expected step*height = {msg.step * msg.height}")
    rows = buf[: msg.step * msg.height].reshape(msg.height, msg.step)[:, :row_bytes]
    shape = (msg.height, msg.width) if channels == 1 else (msg.height, msg.width, channels)
    pixels = np.empty(shape, dtype=dtype)
    pixels.view(np.uint8).reshape(msg.height, row_bytes)[:] = rows  # the one copy (drops any row padding)
    if dtype.itemsize > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big"):
        pixels.byteswap(inplace=True)
    return pixels


def numpy_to_image(array: np.ndarray, encoding: str, frame_id: str = "", stamp: object | None = None) -> Image:
    """Build an ``Image`` from ``array`` (H, W) or (H, W, C); the dtype must match ``encoding``."""
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"unsupported encoding '{encoding}'; supported: {sorted(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    arr = np.asarray(array)
    if arr.dtype != dtype:
        raise ImageConversionError(f"encoding {encoding} needs dtype {dtype}, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1 and channels == 1:
        arr = arr[:, :, 0]
    expected_ndim = 2 if channels == 1 else 3
    if arr.ndim != expected_ndim or (channels > 1 and arr.shape[2] != channels):
        raise ImageConversionError(f"encoding {encoding} needs shape (H, W{'' if channels == 1 else f', {channels}'})"
                                   f", got {arr.shape}")
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = sys.byteorder == "big"
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = np.ascontiguousarray(arr).tobytes()
    return msg
