"""The Maestro VLM coding agent: tool registry, stubs, sandboxed executor, harness, model backends, CLI."""
