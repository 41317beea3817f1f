"""One call signature across engines: embedded (our models), open-weight (diffusers) and hosted APIs.

from portraitist.engines import Request, get_engine
images = get_engine("face-diffusion").generate(Request("smiling woman", negative_prompt="glasses", seed=1))
"""

from ..errors import EngineUnavailable, Unsupported
from .base import ModelCard, Request, check_request, coverage
from .registry import DEFAULT_MODEL, get_engine, list_models, model_names

__all__ = [
    "DEFAULT_MODEL", "EngineUnavailable", "ModelCard", "Request", "Unsupported", "check_request",
    "coverage", "get_engine", "list_models", "model_names",
]  # fmt: skip
