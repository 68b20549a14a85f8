"""Tabletop (Franka) tasks; every module here registers its task with @register_task."""
