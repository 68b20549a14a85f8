"""ros2 launch file for the franka embodiment: a thin mapping of src/maestro_bringup/config/franka.yaml.

Usage (full ROS 2 install): ros2 launch launch/franka.launch.py [real_robot:=true]
Set ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST to keep DDS on this machine (the pip path's `maestro up` does it for you).
"""
import os

from maestro_bringup.launch_description import generate_from_profile


def generate_launch_description():
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    real = os.environ.get("MAESTRO_REAL_ROBOT", "0") == "1"
    return generate_from_profile("franka", real_robot=real)
