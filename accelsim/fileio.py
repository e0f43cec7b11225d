"""Atomic file writes: a reader never sees a half-written file, and a failed write loses nothing."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write data to a temporary file beside path (creating its folder), then rename it over
    path.  The file gets the mode a plain open() would give it (0666 less the umask), not
    mkstemp's private 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def remove_partial_writes(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that write_atomic left in ``folder`` when its process was
    killed mid-write (SIGKILL runs no clean-up); for a command resuming in a folder it alone
    writes.  Returns what was deleted."""
    gone = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink()
            gone.append(tmp)
    return gone


def unwritable(path: str | os.PathLike, folder: bool = False) -> str | None:
    """Why ``path`` (a folder when ``folder``, else a file) cannot be written, or None: it
    exists as such and is writable, or could be created because its nearest existing ancestor
    is a writable folder.  Nothing is created, so a command can check before it works."""
    path = Path(path)
    what = "a folder" if folder else "a file"
    if path.exists():
        if path.is_dir() != folder:
            return f"exists and is not {what}"
        return None if os.access(path, os.W_OK) else "is not writable"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created ({parent} is not a writable folder)"
    return None
