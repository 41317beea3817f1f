"""portraitist: learn, generate, edit and audit photorealistic faces on a laptop CPU."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `portraitist.generate(...)` without importing torch when only the data layer is wanted
    if name == "generate":
        from .generate import generate

        return generate
    raise AttributeError(name)
