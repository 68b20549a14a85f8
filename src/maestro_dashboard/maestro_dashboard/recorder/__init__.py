"""Per-trial recording: a rosbag2-style MCAP of the robot topics and an MP4 per camera, written off the callbacks."""
