"""Streaming tensors to ``.npy`` and ``.safetensors`` files, tile by tile, written atomically.

A tensor is generated as a sequence of tiles, each a ``region=`` of the global tensor (so each
tile is bit-identical to the same slice of the whole, see ``fastinit.kernels``) and each a
contiguous byte range of a C-order file. Memory stays bounded by the tile budget whatever the
tensor's size: one tile buffer, filled and written in turn.

Files are written under a temporary name in the target's directory, flushed with ``fsync`` and
renamed onto the target only when complete, so an interrupted or failed run never leaves a
partial file under the target name and never harms an existing one.

Partial files
-------------
The temporary is named ``.<target name>.<host>.<pid>.<random>.fastinit-partial``: ``<pid>`` is
the writer's process id and ``<host>`` its host name with every byte outside ``A-Z a-z 0-9 -``
written ``%XX`` (so it holds no dot: the name is read from the right), followed on Linux by
``_`` and the inode of the writer's pid namespace (two containers may share a host name and a
directory, not a pid namespace). A SIGKILL or a power cut leaves the file behind;
:func:`sweep_partials` removes those whose writer is gone, which the name alone tells (no file
is opened): same host and pid namespace as the caller, and no process with that pid. A file of
another host (a shared file system) or another pid namespace is never touched, nor one whose
pid is alive (even if that pid now belongs to another program: kept, never a live writer's
file removed), nor one named by an older fastinit (``.<target name>.<random>.fastinit-partial``,
no writer recorded): those are reported for a human to judge.

Formats
-------
- ``.npy``: the header from ``numpy.lib.format`` (exactly what ``numpy.save`` writes; bfloat16
  has no NumPy type code, so, as with ``numpy.save``, it is stored as ``'<V2'`` and read back
  with ``numpy.load(f).view(ml_dtypes.bfloat16)``), then the raw C-order bytes.
- ``.safetensors`` (https://github.com/huggingface/safetensors, "Format"): an 8-byte
  little-endian header length ``N``, a JSON header of ``N`` bytes (``{"__metadata__": {...},
  name: {"dtype": "BF16", "shape": [...], "data_offsets": [begin, end]}, ...}``, padded with
  spaces to a multiple of 8), then the tensors' raw little-endian bytes back to back. Tensors
  are laid out in the order the ``safetensors`` library uses (larger dtypes first, then by
  name), so the data is byte-identical to ``safetensors.numpy.save_file`` of the same tensors
  and the header equal as JSON (the library writes the metadata keys in a hash map's order;
  fastinit sorts them).
"""
import io
import json
import math
import os
import re
import socket
import tempfile
import urllib.parse

import numpy as np

from ._checks import BFLOAT16

TEMP_SUFFIX = ".fastinit-partial"
NAME_MAX = 255  # bytes of one file name on every common file system
# the safetensors library refuses to read a longer header (MAX_HEADER_SIZE in its tensor.rs)
SAFETENSORS_MAX_HEADER = 100_000_000
# the header key safetensors reserves for the metadata map: a tensor of that name is unreadable
SAFETENSORS_RESERVED = "__metadata__"

# safetensors' dtype names; the rank is the library's Dtype enum order, which it sorts by
# (descending) to keep larger items aligned: F64 > F32 > U32 > BF16 > F16
SAFETENSORS_DTYPES = {
    np.dtype(np.float64): ("F64", 4),
    np.dtype(np.float32): ("F32", 3),
    np.dtype(np.uint32): ("U32", 2),
    BFLOAT16: ("BF16", 1),
    np.dtype(np.float16): ("F16", 0),
}


# --- tiles --------------------------------------------------------------------------------

def tile_plan(shape, itemsize, budget):
    """How to cut ``shape`` into contiguous row-major tiles of at most ``budget`` bytes.

    Returns ``(axis, rows)``: a tile fixes the indices of the axes before ``axis``, takes up to
    ``rows`` indices of ``axis`` and the whole of every later axis. ``axis`` is the first one
    whose trailing block fits the budget, so tiles are as large as the budget allows (at least
    one element).
    """
    if 0 in tuple(shape):
        return 0, 1  # no tiles at all
    inner = math.prod(shape)
    for axis, n in enumerate(shape):
        inner //= n  # elements of one index of ``axis``
        if inner * itemsize <= budget or axis == len(shape) - 1:
            return axis, max(1, min(n, budget // (inner * itemsize)))
    return len(shape), 1  # a 0-d tensor: one tile of one element


def tiles(shape, itemsize, budget):
    """Yield ``(region, start, count)`` for every tile of ``shape`` in file order.

    ``region`` is a tuple of slices of ``shape``, ``start`` the flat index of its first element
    and ``count`` its number of elements; the tiles cover the tensor exactly once, in order.
    """
    shape = tuple(shape)
    if 0 in shape:
        return
    axis, rows = tile_plan(shape, itemsize, budget)
    if axis == len(shape):
        yield (), 0, 1
        return
    inner = math.prod(shape[axis + 1:])
    strides = [math.prod(shape[d + 1:]) for d in range(axis)]
    for prefix in np.ndindex(*shape[:axis]):
        base = sum(i * s for i, s in zip(prefix, strides))
        for lo in range(0, shape[axis], rows):
            hi = min(lo + rows, shape[axis])
            region = tuple(slice(i, i + 1) for i in prefix) + (slice(lo, hi),)
            yield region, base + lo * inner, (hi - lo) * inner


def tile_shape(shape, itemsize, budget):
    """The shape of the largest tile of ``shape`` (the buffer every tile fits in)."""
    axis, rows = tile_plan(shape, itemsize, budget)
    if axis == len(shape):
        return ()
    return (1,) * axis + (rows,) + tuple(shape[axis + 1:])


# --- headers ------------------------------------------------------------------------------

def npy_header(shape, dtype):
    """The ``.npy`` header ``numpy.save`` writes for a C-order array of ``shape`` and
    ``dtype`` (format 1.0, or 2.0 when the header needs it)."""
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(shape)}
    buf = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buf, d)
    except ValueError:  # more than 65535 header bytes
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue()


def safetensors_name_problem(name):
    """Why ``name`` cannot name a tensor in a ``.safetensors`` file, or ``None`` if it can.

    The header is UTF-8 JSON whose key ``__metadata__`` is the metadata map, so a name must
    have a UTF-8 encoding and must not be ``__metadata__`` (the file would be unreadable).
    Anything else is held, read back and written by the safetensors library too: the empty
    name, spaces, quotes, backslashes, control characters and NUL included (JSON escapes them).
    """
    if not isinstance(name, str):
        return f"a tensor name must be a str, got {type(name).__name__}"
    if name == SAFETENSORS_RESERVED:
        return ("the safetensors format reserves this name (its header's key for the metadata "
                "map): a tensor of that name makes the file unreadable")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return ("the name has no UTF-8 encoding (a lone surrogate, or bytes that are not "
                "UTF-8), which the safetensors header needs")
    return None


def safetensors_layout(tensors, metadata=None):
    """The header bytes and the data offset of each tensor for a ``.safetensors`` file.

    ``tensors`` maps names to ``(shape, dtype)``. Returns ``(header, order, offsets)``:
    ``header`` is everything before the data (length prefix included), ``order`` the names in
    file order and ``offsets[name]`` the byte offset of that tensor in the file.

    Raises ``ValueError`` for a name the format cannot hold (:func:`safetensors_name_problem`)
    or a header larger than the library reads, ``TypeError`` for a dtype it has no type for.
    """
    for name in tensors:
        problem = safetensors_name_problem(name)
        if problem is not None:
            raise ValueError(f"tensor {name!r}: {problem}")
    for name, (shape, dtype) in tensors.items():
        if np.dtype(dtype) not in SAFETENSORS_DTYPES:
            raise TypeError(f"dtype {dtype} of tensor {name!r} has no safetensors type")
    order = sorted(tensors, key=lambda n: (-SAFETENSORS_DTYPES[np.dtype(tensors[n][1])][1], n))
    entries, begin = {}, 0
    if metadata:
        # sorted: the same call writes the same bytes (the library's order is a hash map's)
        entries["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    for name in order:
        shape, dtype = tensors[name]
        end = begin + math.prod(shape) * np.dtype(dtype).itemsize
        entries[name] = {"dtype": SAFETENSORS_DTYPES[np.dtype(dtype)][0],
                         "shape": [int(n) for n in shape], "data_offsets": [begin, end]}
        begin = end
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # as the library pads: the data starts 8-byte aligned
    if len(text) > SAFETENSORS_MAX_HEADER:
        raise ValueError(f"the safetensors header would be {len(text):,} bytes, more than the "
                         f"{SAFETENSORS_MAX_HEADER:,} the safetensors library reads "
                         f"(names or metadata too long)")
    header = len(text).to_bytes(8, "little") + text
    offsets, at = {}, len(header)
    for name in order:
        offsets[name] = at
        at += entries[name]["data_offsets"][1] - entries[name]["data_offsets"][0]
    return header, order, offsets


# --- writing ------------------------------------------------------------------------------

def _pwrite_all(fd, data, offset):
    """Write all of ``data`` (bytes or a C-contiguous array) at byte ``offset`` of ``fd``."""
    if isinstance(data, np.ndarray):
        data = data.reshape(-1).view(np.uint8)  # bytes of any dtype (memoryview lacks bf16)
    view = memoryview(data).cast("B")
    while view.nbytes:
        if hasattr(os, "pwrite"):
            n = os.pwrite(fd, view, offset)
        else:  # Windows: one writer at a time, so seek-then-write is safe here
            os.lseek(fd, offset, os.SEEK_SET)
            n = os.write(fd, view)
        view, offset = view[n:], offset + n


# the host field of a partial file's name: bytes outside these are written %XX
_HOST_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
# .<target>.<host>[_<pid namespace>].<pid>.<random>.fastinit-partial; no field after the target
# holds a dot, so the greedy target takes every dot of the target's own name
_PARTIAL_NAME = re.compile(r"\.(?P<target>.*)\.(?P<host>[A-Za-z0-9%-]*)(?:_(?P<ns>[0-9]+))?"
                           r"\.(?P<pid>[1-9][0-9]*)\.[a-z0-9_]+" + re.escape(TEMP_SUFFIX),
                           re.DOTALL)


def _quote_host(host):
    """``host`` with every byte outside ``A-Z a-z 0-9 -`` written ``%XX`` (no dot left)."""
    return "".join(chr(b) if b in _HOST_SAFE else f"%{b:02X}"
                   for b in host.encode("utf-8", "surrogateescape"))


def _pid_namespace():
    """The inode of this process's pid namespace (Linux), or ``None``."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except (OSError, AttributeError):
        return None


def writer_token():
    """This process's ``<host>`` field of a partial file's name: its quoted host name, then
    ``_<inode of its pid namespace>`` where there is one (Linux)."""
    ns = _pid_namespace()
    host = _quote_host(socket.gethostname())
    return host if ns is None else f"{host}_{ns}"


def partial_writer(name):
    """``(host field, pid)`` recorded in a partial file's ``name``, or ``None`` when it records
    none (a partial of an older fastinit, or not a partial file at all)."""
    m = _PARTIAL_NAME.fullmatch(name)
    if m is None:
        return None
    host = m["host"] if m["ns"] is None else f"{m['host']}_{m['ns']}"
    return host, int(m["pid"])


def host_of(token):
    """The host name of a ``<host>`` field (``%XX`` decoded, the pid namespace left out)."""
    return urllib.parse.unquote(token.rsplit("_", 1)[0] if "_" in token else token,
                                errors="backslashreplace")


def temp_path(target):
    """A fresh temporary file next to ``target`` (same directory, so the final rename is
    atomic), named ``.<target name>.<host>.<pid>.<random>.fastinit-partial``: recognisable,
    hidden, never the target's own name, and naming its writer (see "Partial files" above).
    The target name is shortened, if need be, to keep the name within 255 bytes. Returns
    ``(fd, path)``."""
    head, tail = os.path.split(os.path.abspath(target))
    middle = f".{writer_token()}.{os.getpid()}."
    # "." + tail + middle + 8 random characters (mkstemp's) + the suffix
    room = NAME_MAX - len(os.fsencode(middle)) - 1 - 8 - len(TEMP_SUFFIX)
    while tail and len(os.fsencode(tail)) > room:
        tail = tail[:-1]
    return tempfile.mkstemp(prefix=f".{tail}{middle}", suffix=TEMP_SUFFIX, dir=head)


def _pid_alive(pid):
    """Whether process ``pid`` exists on this host: ``True``, ``False``, or ``None`` when it
    cannot be told (Windows, where ``os.kill`` would terminate the process)."""
    if os.name == "nt":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OSError, OverflowError, ValueError):
        return None
    return True


def sweep_partials(directory):
    """Remove the partial files in ``directory`` whose writer is gone (killed, or its machine
    rebooted); see "Partial files" above for what is never touched.

    Returns ``(removed, unknown)``: ``removed`` lists ``(path, pid, host)`` of each file
    removed, ``unknown`` the paths of partial files whose name records no writer (an older
    fastinit's), left in place.
    """
    removed, unknown = [], []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return removed, unknown
    me = writer_token()
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
        except OSError:
            continue
        writer = partial_writer(entry.name)
        if writer is None:
            unknown.append(entry.path)
            continue
        host, pid = writer
        # another host or pid namespace: its pid means nothing here; a live pid: keep
        if host != me or _pid_alive(pid) is not False:
            continue
        try:
            os.unlink(entry.path)
        except OSError:  # gone already (another run swept it), or not ours to remove
            continue
        removed.append((entry.path, pid, host_of(host)))
    return removed, unknown


class AtomicFile:
    """A file descriptor on a temporary next to ``target``; ``commit()`` fsyncs it and renames
    it onto ``target``; leaving the ``with`` block without a commit (an exception, a signal
    turned into one) removes the temporary and leaves ``target`` as it was.

    Without ``overwrite`` the rename is a hard link that fails if ``target`` exists, so a file
    that appeared meanwhile is not replaced either.
    """

    def __init__(self, target, overwrite=False):
        self.target, self.overwrite = os.path.abspath(target), overwrite
        self.fd, self.path = None, None

    def __enter__(self):
        self.fd, self.path = temp_path(self.target)
        return self

    def commit(self):
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        os.chmod(self.path, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file is 0666-umask
        if self.overwrite:
            os.replace(self.path, self.target)
        else:
            try:
                os.link(self.path, self.target)
            except FileExistsError:
                raise FileExistsError(f"{self.target} exists (use --force to overwrite)") from None
            except OSError:  # a file system without hard links: check, then rename
                if os.path.exists(self.target):
                    raise FileExistsError(f"{self.target} exists (use --force to overwrite)")
                os.replace(self.path, self.target)
            else:
                os.unlink(self.path)
        self.path = None
        _fsync_dir(os.path.dirname(self.target))  # makes the rename itself durable

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        return False


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory
        pass
    finally:
        os.close(fd)


def stream_tensor(fd, offset, shape, dtype, fill, budget, progress=None):
    """Write the tensor of ``shape`` and ``dtype`` at byte ``offset`` of ``fd``, tile by tile.

    ``fill(view, region)`` fills ``view`` (a C-contiguous array of the region's shape) with
    the ``region`` of the global tensor; one buffer of at most ``budget`` bytes (or one element)
    is reused for every tile, so its pages are faulted in once. ``progress(nbytes)`` is called
    after each tile is written.

    Tiles are generated and written in turn, not overlapped: a writer thread beside the
    kernel's threads would compete with them for the cores (the page-cache copy is CPU work),
    which is slower on machines with few cores.
    """
    dtype = np.dtype(dtype)
    if 0 in tuple(shape):
        return
    budget = max(dtype.itemsize, budget)
    buf = np.empty(tile_shape(shape, dtype.itemsize, budget), dtype).reshape(-1)
    for region, start, count in tiles(shape, dtype.itemsize, budget):
        rshape = tuple(s.stop - s.start for s in region) + tuple(shape[len(region):])
        view = buf[:count].reshape(rshape)
        fill(view, region)
        _pwrite_all(fd, view, offset + start * dtype.itemsize)
        if progress is not None:
            progress(view.nbytes)
