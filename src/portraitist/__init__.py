"""portraitist: learn, generate, edit and audit photorealistic faces on a laptop CPU."""

__version__ = "0.1.0"
