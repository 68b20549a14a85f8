"""Image conversion is exact for every encoding, honours step padding and byte order, and rejects bad input."""
import numpy as np
import pytest
from sensor_msgs.msg import Image

from maestro_common.images import ENCODINGS, ImageConversionError, image_to_numpy, numpy_to_image


def _random_array(encoding: str, rng: np.random.Generator) -> np.ndarray:
    dtype, channels = ENCODINGS[encoding]
    shape = (7, 5) if channels == 1 else (7, 5, channels)
    if dtype.kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_round_trip_is_exact(encoding: str) -> None:
    arr = _random_array(encoding, np.random.default_rng(0))
    msg = numpy_to_image(arr, encoding, frame_id="cam")
    assert msg.encoding == encoding and msg.header.frame_id == "cam"
    back = image_to_numpy(msg)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert np.array_equal(back, arr, equal_nan=True)


def test_row_padding_is_skipped() -> None:
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    msg = numpy_to_image(arr, "mono8")
    padded = np.zeros((3, 8), dtype=np.uint8)
    padded[:, :4] = arr
    msg.step = 8
    msg.data = padded.tobytes()
    assert np.array_equal(image_to_numpy(msg), arr)


def test_big_endian_data_is_swapped() -> None:
    arr = np.array([[1.5, -2.25]], dtype=np.float32)
    msg = numpy_to_image(arr, "32FC1")
    msg.is_bigendian = True
    msg.data = arr.astype(">f4").tobytes()
    assert np.array_equal(image_to_numpy(msg), arr)


def test_result_owns_its_pixels_and_plain_int_lists_work() -> None:
    arr = np.arange(24, dtype=np.uint16).reshape(3, 8)
    msg = numpy_to_image(arr, "16UC1")
    back = image_to_numpy(msg)
    assert back.flags.writeable and back.flags.c_contiguous and back.dtype.isnative
    back[0, 0] = 999  # writing the result must not touch the message's buffer
    assert np.array_equal(image_to_numpy(msg), arr)
    mono = Image(height=1, width=3, encoding="mono8", step=3)
    mono.data = [1, 2, 3]
    assert image_to_numpy(mono).tolist() == [[1, 2, 3]]


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ImageConversionError, match="unsupported encoding"):
        numpy_to_image(np.zeros((2, 2), np.uint8), "yuv422")
    with pytest.raises(ImageConversionError, match="needs dtype"):
        numpy_to_image(np.zeros((2, 2), np.float64), "mono8")
    with pytest.raises(ImageConversionError, match="needs shape"):
        numpy_to_image(np.zeros((2, 2), np.uint8), "rgb8")
    msg = numpy_to_image(np.zeros((4, 4), np.uint16), "16UC1")
    msg.data = msg.data[:10]
    with pytest.raises(ImageConversionError, match="expected step"):
        image_to_numpy(msg)
