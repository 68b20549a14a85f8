"""sensor_msgs/PointCloud2 <-> numpy and depth back-projection (vectorised; no sensor_msgs_py on the pip path).

Shared by perception, grasp and control, which do not import one another.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

_DTYPES = {
    PointField.INT8: "i1",
    PointField.UINT8: "u1",
    PointField.INT16: "i2",
    PointField.UINT16: "u2",
    PointField.INT32: "i4",
    PointField.UINT32: "u4",
    PointField.FLOAT32: "f4",
    PointField.FLOAT64: "f8",
}


def pointcloud2_to_points(msg: PointCloud2, skip_nans: bool = False) -> np.ndarray:
    """``(N, 3)`` float64 x, y, z of a PointCloud2 (any point_step/endianness; NaN points kept unless ``skip_nans``).

    Raises:
        ValueError: when the cloud has no x, y, z fields or its buffer is inconsistent.
    """
    n = int(msg.width) * int(msg.height)
    if n == 0:
        return np.zeros((0, 3))
    fields = {f.name: f for f in msg.fields}
    if not all(k in fields for k in ("x", "y", "z")):
        raise ValueError(f"PointCloud2 needs x, y, z fields, has {sorted(fields)}")
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for k in ("x", "y", "z"):
        f = fields[k]
        if f.datatype not in _DTYPES:
            raise ValueError(f"field {k} has unsupported datatype {f.datatype}")
        names.append(k)
        formats.append(order + _DTYPES[f.datatype])
        offsets.append(f.offset)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": int(msg.point_step)})
    data = bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray, memoryview)) else msg.data
    row_step = int(msg.row_step) or int(msg.point_step) * int(msg.width)
    if len(data) < row_step * int(msg.height) or row_step < int(msg.point_step) * int(msg.width):
        raise ValueError(
            f"PointCloud2 data has {len(data)} bytes, expected row_step*height = {row_step * int(msg.height)}"
        )
    rows = np.frombuffer(data, dtype=np.uint8)[: row_step * int(msg.height)].reshape(int(msg.height), row_step)
    rows = np.ascontiguousarray(rows[:, : int(msg.point_step) * int(msg.width)])
    arr = rows.reshape(-1).view(dtype)
    pts = np.stack([arr["x"], arr["y"], arr["z"]], axis=1).astype(np.float64)
    return pts[np.isfinite(pts).all(axis=1)] if skip_nans else pts


def points_to_pointcloud2(points: np.ndarray, frame_id: str, stamp: object | None = None) -> PointCloud2:
    """Unorganised PointCloud2 (x, y, z float32, little endian) of ``(N, 3)`` points."""
    pts = np.ascontiguousarray(np.asarray(points, dtype="<f4").reshape(-1, 3))
    msg = PointCloud2()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.height = 1
    msg.width = int(pts.shape[0])
    msg.fields = [
        PointField(name=k, offset=4 * i, datatype=PointField.FLOAT32, count=1) for i, k in enumerate("xyz")
    ]
    msg.is_bigendian = False
    msg.point_step = 12
    msg.row_step = 12 * msg.width
    msg.is_dense = bool(np.all(np.isfinite(pts)))
    msg.data = pts.tobytes()
    return msg


def depth_to_points(depth: np.ndarray, k: np.ndarray, stride: int = 1, max_depth: float = 3.0) -> np.ndarray:
    """Back-project a metric depth image (optical frame: +z forward, +x right, +y down) to ``(N, 3)`` points.

    Args:
        depth: ``(H, W)`` depth in metres (32FC1); NaN/inf/<=0 pixels are dropped.
        k: 3x3 camera matrix.
        stride: use every ``stride``-th pixel in both directions.
        max_depth: drop pixels farther than this (metres).
    """
    d = np.asarray(depth, dtype=np.float64)[::stride, ::stride]
    h, w = d.shape
    v, u = np.mgrid[0:h, 0:w]
    u = u * stride
    v = v * stride
    valid = np.isfinite(d) & (d > 0.0) & (d < max_depth)
    z = d[valid]
    x = (u[valid] - k[0, 2]) * z / k[0, 0]
    y = (v[valid] - k[1, 2]) * z / k[1, 1]
    return np.stack([x, y, z], axis=1)
