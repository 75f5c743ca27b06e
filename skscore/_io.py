"""Writing output files so that a failure never leaves half a file behind.

:func:`atomic_write` writes a regular file through a temporary file and a
rename; :func:`write_stream` writes to an existing FIFO or character device
directly (a rename would replace it by a regular file); :func:`check_directory`
tells early whether a directory takes new files.
"""

import errno
import os
import secrets
import stat

__all__ = ["atomic_write", "check_directory", "write_stream"]


def _create_temp(directory, filename):
    """Create ``directory/.filename.XXXXXXXX.tmp`` exclusively; returns ``(fd, path)``."""
    for _ in range(100):
        tmp = os.path.join(directory, f".{filename}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {directory}")  # pragma: no cover


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _file_kind(mode):
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def _copy_metadata(fd, tmp, old):
    """Give the temporary file the owner, group (where allowed) and permission bits of ``old``."""
    try:
        os.chown(tmp, old.st_uid, old.st_gid)  # allowed for root, or for the owner's own groups
    except (OSError, AttributeError):
        pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which may clear set-id bits
    else:  # pragma: no cover - Windows before Python 3.13
        os.chmod(tmp, stat.S_IMODE(old.st_mode))


def _link_no_clobber(tmp, target):
    """Move ``tmp`` to ``target`` unless ``target`` exists (atomically where hard links work)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file exists", target) from None
    except OSError:  # no hard links on this file system: check, then rename
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "file exists", target) from None
        os.replace(tmp, target)
    else:
        os.unlink(tmp)


def atomic_write(path, data, *, overwrite=True):
    """Write ``data`` (str, as UTF-8, or bytes) to the regular file ``path`` atomically.

    The data go to a temporary file in the destination's directory, which then
    takes the place of ``path`` in one step: readers see the old file or the
    complete new one, and on any error (or interruption) the temporary file
    is removed and ``path`` is left as it was.

    - A symbolic link at ``path`` is followed: its target is replaced (the
      temporary file is made next to the target) and the link is kept.
    - An existing target keeps its permission bits (and its owner and group
      where the process may set them); a new file gets the usual permissions
      (``0o666`` less the umask).
    - An existing target that is not a regular file (a directory, named
      pipe, device or socket) is never replaced: ``ValueError``.

    Parameters
    ----------
    path : str or path-like
        Destination; its directory must exist.
    data : str or bytes
        The whole content.
    overwrite : bool, default=True
        When False, raise :class:`FileExistsError` if ``path`` exists, checked
        at the moment of the final rename (by a hard link where the file
        system has them) so that a file created meanwhile is not replaced.
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    target = os.path.realpath(path)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    if old is not None:
        if not overwrite:
            raise FileExistsError(errno.EEXIST, "file exists", path)
        if not stat.S_ISREG(old.st_mode):
            raise ValueError(f"{path} is {_file_kind(old.st_mode)}; it is not replaced by a file")
    directory, filename = os.path.split(target)
    fd, tmp = _create_temp(directory, filename)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if old is not None:
                _copy_metadata(handle.fileno(), tmp, old)
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def write_stream(path, data):
    """Write ``data`` (str, as UTF-8, or bytes) into an existing named pipe or character device.

    The file is opened for writing as it is (never created, truncated or
    replaced); opening a named pipe waits for a reader.

    Raises
    ------
    ValueError
        When ``path`` is not a named pipe or a character device.
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "wb") as handle:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            raise ValueError(f"{path} is {_file_kind(mode)}, not a named pipe or device")
        handle.write(data)


def check_directory(directory):
    """Raise ``OSError`` unless a file can be created in ``directory`` (tried, then removed)."""
    fd, tmp = _create_temp(directory, "skscore-check")
    os.close(fd)
    os.unlink(tmp)
