"""Small pose/quaternion helpers shared by the nodes (quaternions are [x, y, z, w], like ROS)."""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Pose, Transform
from scipy.spatial.transform import Rotation, Slerp


def quat_to_matrix(q: np.ndarray | list[float]) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion [x, y, z, w]."""
    return Rotation.from_quat(np.asarray(q, dtype=float)).as_matrix()


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternion [x, y, z, w] of a rotation matrix."""
    return Rotation.from_matrix(np.asarray(r, dtype=float)).as_quat()


def make_transform(translation: np.ndarray | list[float], quat: np.ndarray | list[float]) -> np.ndarray:
    """4x4 homogeneous transform from a translation and a quaternion [x, y, z, w]."""
    t = np.eye(4)
    t[:3, :3] = quat_to_matrix(quat)
    t[:3, 3] = np.asarray(translation, dtype=float)
    return t


def pose_to_matrix(pose: Pose) -> np.ndarray:
    """4x4 transform of a ``geometry_msgs/Pose``."""
    p, o = pose.position, pose.orientation
    return make_transform([p.x, p.y, p.z], [o.x, o.y, o.z, o.w])


def transform_to_matrix(tf: Transform) -> np.ndarray:
    """4x4 transform of a ``geometry_msgs/Transform``."""
    t, r = tf.translation, tf.rotation
    return make_transform([t.x, t.y, t.z], [r.x, r.y, r.z, r.w])


def matrix_to_pose(t: np.ndarray) -> Pose:
    """``geometry_msgs/Pose`` of a 4x4 transform."""
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in t[:3, 3])
    q = matrix_to_quat(t[:3, :3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in q)
    return pose


def matrix_to_transform(t: np.ndarray) -> Transform:
    """``geometry_msgs/Transform`` of a 4x4 transform."""
    tf = Transform()
    tf.translation.x, tf.translation.y, tf.translation.z = (float(v) for v in t[:3, 3])
    q = matrix_to_quat(t[:3, :3])
    tf.rotation.x, tf.rotation.y, tf.rotation.z, tf.rotation.w = (float(v) for v in q)
    return tf


def transform_points(t: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to an (N, 3) array of points."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    return pts @ t[:3, :3].T + t[:3, 3]


def interpolate_transform(t0: np.ndarray, t1: np.ndarray, alpha: float) -> np.ndarray:
    """Interpolate between two 4x4 transforms: linear in translation, slerp in rotation (alpha in [0, 1])."""
    rots = Rotation.from_matrix(np.stack([t0[:3, :3], t1[:3, :3]]))
    out = np.eye(4)
    out[:3, :3] = Slerp([0.0, 1.0], rots)([alpha]).as_matrix()[0]
    out[:3, 3] = (1.0 - alpha) * t0[:3, 3] + alpha * t1[:3, 3]
    return out


def invert_transform(t: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    inv = np.eye(4)
    inv[:3, :3] = t[:3, :3].T
    inv[:3, 3] = -t[:3, :3].T @ t[:3, 3]
    return inv
