"""Sandboxed execution of model-written code (parent side) and the child runtime (``sbx_*`` modules)."""
from maestro_agent.sandbox.process import ExecResult, SandboxConfig, SandboxError, SandboxProcess, bwrap_available

__all__ = ["ExecResult", "SandboxConfig", "SandboxError", "SandboxProcess", "bwrap_available"]
