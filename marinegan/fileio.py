"""Writing files safely: atomically (temporary file, fsync, rename) and with the user's umask honoured."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(path: str | os.PathLike[str]) -> None:
    """Give ``path`` the mode a plain ``open(path, "w")`` would have (0666 & ~umask).

    Temporary files (``mkstemp``) and some writers (safetensors) create files as 0600, which other
    users, a shared cache or a web server cannot read.
    """
    os.chmod(path, 0o666 & ~current_umask())


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` then atomically move the result to ``path`` (fsynced, umask honoured)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        honour_umask(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def require_new_folder(out: str | os.PathLike[str], name: str = "out") -> None:
    """Refuse ``out`` when it exists and is a file or a folder holding anything (``name``: how the caller calls it)."""
    from marinegan.errors import ConfigError

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{name} {out} exists and is not empty; choose a new folder so nothing is overwritten")


@contextmanager
def staged_dir(out: str | os.PathLike[str], replace: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary sibling and rename it to ``out`` once the block completes.

    ``out`` must not exist or be an empty folder, unless ``replace``: then an existing ``out`` is removed
    only once the new folder is complete. On any error or interrupt the sibling is removed and ``out`` is
    left as it was, so a failed or interrupted command never blocks its own re-run (a process killed
    outright leaves a hidden ``.<name>.partial-*`` sibling that nothing reads).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        old = None
        if out.is_dir() and replace:
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        elif out.is_dir():
            out.rmdir()  # empty (checked by the caller); a folder that filled meanwhile is an error, not lost
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
