"""Writing output files so that a failure never leaves half a file behind."""

import os
import secrets


def atomic_write(path, data):
    """Write ``data`` (str, as UTF-8, or bytes) to ``path`` atomically.

    The data go to a temporary file in the destination's directory, which then
    replaces ``path`` in one step: readers see the old file or the complete
    new one, and on any error the temporary file is removed and ``path`` is
    left as it was.  The new file gets the usual permissions of a new file
    (``0o666`` less the umask).
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory, filename = os.path.split(os.path.abspath(path))
    for _ in range(100):
        tmp = os.path.join(directory, f".{filename}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(f"could not create a temporary file in {directory}")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
