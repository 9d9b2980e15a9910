"""Files written whole or not at all: written to a temporary file beside the target, then renamed over it;
the lock that keeps a second writer out of a long run's output; and changes to an object's settings kept
whole or undone (``all_or_nothing``)."""

import csv
import fcntl
import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # what a plain open() would create; mkstemp makes the file owner-only
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        handle.write(text)


def write_csv(path, rows: Sequence[dict], fieldnames: Sequence[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


@contextmanager
def exclusive(lock_path, refusal: str) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the block; while another process holds
    it, raise ``ValueError(refusal)`` at once instead of waiting. The lock goes with the process that holds
    it, so a killed run leaves nothing to clean up."""
    path = Path(lock_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(refusal) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def all_or_nothing(obj) -> Iterator[None]:
    """Undo every attribute change of ``obj`` (and of the contents of its list attributes, which are often
    changed in place) when the block raises: a refused ``set_params`` leaves an ART object as it was."""
    saved = {k: (v, list(v) if isinstance(v, list) else None) for k, v in vars(obj).items()}
    try:
        yield
    except BaseException:
        vars(obj).clear()
        for key, (value, items) in saved.items():
            if items is not None:
                value[:] = items
            vars(obj)[key] = value
        raise
