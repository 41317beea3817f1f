"""Writing files atomically: a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600 files; the result should read like any other
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def writable_folder(path: str | os.PathLike, what: str = "--out") -> Path:
    """`path` as a folder that can be written (created if missing), checked before any work is done:
    a clear InvalidInput instead of a traceback after minutes of computing. Never inside the
    installed package (its weights are not the user's to overwrite)."""
    from .errors import InvalidInput
    from .paths import WEIGHTS_DIR

    folder = Path(path).expanduser()
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise InvalidInput(f"{what} {folder}: {parent} is a file, not a folder")
    if folder.resolve().is_relative_to(WEIGHTS_DIR.parent.resolve()):
        raise InvalidInput(
            f"{what} {folder} is inside the installed portraitist package; write somewhere else"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check.", delete=True)  # noqa: SIM115
        probe.close()
    except OSError as e:
        raise InvalidInput(f"{what} {folder} cannot be written: {e.strerror or e}") from None
    return folder
