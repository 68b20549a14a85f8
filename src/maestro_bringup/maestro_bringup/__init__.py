"""Embodiment profiles, the pip-mode launcher and the maestro command."""
