"""Vision-language pointing: ask a VLM where a described part is in an image.

:class:`PointingModel` is the one-method protocol the ``vlm_pointing`` backend needs. Two implementations:
``GeminiPointingModel`` (google-genai; Gemini's native pointing format, ``[y, x]`` normalised to 0-1000) and
``OpenAIPointingModel`` (any OpenAI-compatible ``/chat/completions`` server: vLLM, Ollama, ...; same JSON format asked
for in the prompt). :func:`make_pointing_model` builds one from parameters and returns None when nothing is
configured. No ROS inside; this package does not import the agent's model clients (packages meet only over ROS).
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
from typing import Any, Protocol

import numpy as np
from PIL import Image

__all__ = [
    "GeminiPointingModel",
    "OpenAIPointingModel",
    "PointingError",
    "PointingModel",
    "make_pointing_model",
    "parse_points",
    "pointing_prompt",
]


class PointingError(RuntimeError):
    """The model could not be reached or answered something that is not a list of points."""


class PointingModel(Protocol):
    """Finds points in an image for a natural-language query."""

    def point(self, image: np.ndarray, query: str, max_points: int = 1) -> list[tuple[float, float, float]]:
        """(u, v, score) pixel points, best first; empty when the query is not in the image."""
        ...


def pointing_prompt(query: str, max_points: int) -> str:
    """The instruction sent with the image (Gemini's pointing convention)."""
    return (f"Point to {query} in the image. Give at most {max_points} point(s), best first. Answer with JSON only: "
            '[{"point": [y, x], "label": "<short name>"}] where y and x are normalised to 0-1000 '
            '(0,0 = top-left). If it is not visible, answer [].')


def parse_points(text: str, width: int, height: int) -> list[tuple[float, float, float]]:
    """Parse the model's JSON answer (fenced or not) into pixel (u, v, score), dropping points outside the image."""
    m = re.search(r"\[.*\]", text, flags=re.S)
    if m is None:
        raise PointingError(f"the model's answer has no JSON list: {text[:200]!r}")
    try:
        items = json.loads(m.group(0))
    except json.JSONDecodeError as exc:
        raise PointingError(f"the model's answer is not valid JSON ({exc}): {text[:200]!r}") from exc
    out = []
    n = max(1, len(items))
    for rank, it in enumerate(items):
        pt = it.get("point") if isinstance(it, dict) else it
        if not isinstance(pt, (list, tuple)) or len(pt) != 2:
            continue
        try:
            y, x = float(pt[0]), float(pt[1])
        except (TypeError, ValueError):
            continue
        if not (0 <= x <= 1000 and 0 <= y <= 1000):
            continue
        score = float(it.get("score", 1.0 - 0.5 * rank / n)) if isinstance(it, dict) else 1.0
        out.append((x / 1000.0 * (width - 1), y / 1000.0 * (height - 1), float(np.clip(score, 0.0, 1.0))))
    return out


def _png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


class GeminiPointingModel:
    """Pointing with a Gemini model through google-genai (``base_url`` for proxies / compatible gateways)."""

    def __init__(self, model: str, api_key: str, base_url: str = "", timeout: float = 30.0) -> None:
        from google import genai
        from google.genai import types

        opts = types.HttpOptions(timeout=int(timeout * 1000), **({"base_url": base_url} if base_url else {}))
        self._client = genai.Client(api_key=api_key, http_options=opts)
        self._types = types
        self.model = model

    def point(self, image: np.ndarray, query: str, max_points: int = 1) -> list[tuple[float, float, float]]:
        """Ask Gemini; (u, v, score) pixels."""
        types = self._types
        try:
            resp = self._client.models.generate_content(
                model=self.model,
                contents=[types.Part.from_bytes(data=_png_bytes(image), mime_type="image/png"),
                          pointing_prompt(query, max_points)],
                config=types.GenerateContentConfig(temperature=0.0, response_mime_type="application/json"),
            )
        except Exception as exc:  # network / auth / quota: one error type for the node
            raise PointingError(f"Gemini request failed: {type(exc).__name__}: {exc}") from exc
        return parse_points(resp.text or "", image.shape[1], image.shape[0])[:max_points]


class OpenAIPointingModel:
    """Pointing through an OpenAI-compatible chat completions API (vLLM, Ollama, LM Studio, OpenAI, ...)."""

    def __init__(self, model: str, base_url: str, api_key: str = "", timeout: float = 30.0,
                 transport: Any = None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout,
                                  transport=transport)
        self.model = model

    def point(self, image: np.ndarray, query: str, max_points: int = 1) -> list[tuple[float, float, float]]:
        """Ask the chat model; (u, v, score) pixels."""
        url = "data:image/png;base64," + base64.b64encode(_png_bytes(image)).decode()
        body = {
            "model": self.model,
            "temperature": 0.0,
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": pointing_prompt(query, max_points)},
            ]}],
        }
        try:
            r = self._http.post("/chat/completions", json=body)
            r.raise_for_status()
            text = r.json()["choices"][0]["message"]["content"]
        except Exception as exc:  # transport, HTTP status or an unexpected body
            raise PointingError(f"chat completions request to {self._http.base_url} failed: "
                                f"{type(exc).__name__}: {exc}") from exc
        return parse_points(text or "", image.shape[1], image.shape[0])[:max_points]


def make_pointing_model(provider: str, model: str, base_url: str = "", api_key_env: str = "",
                        timeout: float = 30.0) -> tuple[PointingModel | None, str]:
    """Build the configured model; returns (model or None, why not) so that the node can answer UNAVAILABLE."""
    provider = provider.strip().lower()
    if not provider or provider == "none":
        return None, "no pointing model configured: set the 'provider' (gemini or openai) and 'model' parameters"
    if not model:
        return None, f"provider '{provider}' needs the 'model' parameter (a model id)"
    key = os.environ.get(api_key_env, "") if api_key_env else ""
    if provider == "gemini":
        key = key or os.environ.get("GEMINI_API_KEY", "") or os.environ.get("GOOGLE_API_KEY", "")
        if not key:
            return None, (f"Gemini needs an API key in the environment variable "
                          f"'{api_key_env or 'GEMINI_API_KEY'}'")
        return GeminiPointingModel(model, key, base_url, timeout), ""
    if provider == "openai":
        if not base_url:
            return None, "the openai provider needs the 'base_url' parameter (e.g. http://localhost:8000/v1)"
        return OpenAIPointingModel(model, base_url, key, timeout), ""
    return None, f"unknown provider '{provider}'; use gemini or openai"
