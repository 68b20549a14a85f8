"""Repository-wide pytest configuration: every test process gets an isolated ROS domain on loopback."""
pytest_plugins = ["maestro_common.ros_testing"]
