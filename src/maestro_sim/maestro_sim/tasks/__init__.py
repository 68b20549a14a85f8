"""Simulated task suite: task API (base), registry, tabletop and mobile tasks."""
