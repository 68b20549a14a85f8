"""Versioned prompt files of the LLM agent (system, plan, react, reflect); loaded by maestro_agent.models.prompting."""
