"""portraitist: learn, generate, edit and audit photorealistic faces on a laptop CPU.

from portraitist import generate, save
"""

__version__ = "0.1.0"
__all__ = ["generate", "save"]


def __getattr__(name: str):
    # the Python API without importing torch when only the data layer (or `--help`) is wanted
    if name in ("generate", "save"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
