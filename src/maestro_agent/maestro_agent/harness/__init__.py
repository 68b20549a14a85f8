"""Harness skills: robust composite calls installed into the sandbox namespace (see skills.py)."""
