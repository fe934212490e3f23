"""Refuse, at ``import fastinit``, a Numba older than the oldest one fastinit is tested with.

``pip install --no-deps`` (or an environment that pins an older Numba) can leave one in place,
and an unsupported Numba shows itself only at a kernel's first call, as a typing or LLVM error
deep inside it. The version is read from the installed distribution's metadata, before Numba
is imported (an old Numba may not even import next to a newer NumPy).

``NUMBA_MIN`` is the one place the floor is written in the package; a test checks that it
equals the ``numba>=`` floor of ``pyproject.toml``, which ``.ci/run``'s minimum-versions pass
installs and tests.
"""
import re
from importlib import metadata

NUMBA_MIN = "0.59"


def release(version):
    """The leading integers of a version string: ``"0.62.0rc1"`` -> ``(0, 62, 0)``.

    A pre-release or development build counts as its release (``packaging`` may not be
    installed, and these need no finer order)."""
    parts = []
    for piece in version.split("."):
        m = re.match(r"\d+", piece)
        if m is None:
            break
        parts.append(int(m.group()))
        if m.end() != len(piece):
            break
    return tuple(parts)


def check_numba():
    """Raise ImportError naming both versions when the installed Numba is older than NUMBA_MIN.

    Without distribution metadata for numba (not installed, or a bare source tree on the path)
    there is nothing to compare: the import of numba that follows reports whatever is wrong."""
    try:
        installed = metadata.version("numba")
    except metadata.PackageNotFoundError:
        return
    if release(installed) < release(NUMBA_MIN):
        raise ImportError(
            f"fastinit needs numba>={NUMBA_MIN} (the oldest it is tested with), but numba "
            f"{installed} is installed; upgrade it: pip install 'numba>={NUMBA_MIN}'")


check_numba()
