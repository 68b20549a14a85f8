"""Antipodal grasp planning on point clouds."""
