"""The rule that turns a tensor's name into its stream: one rule for the whole package.

``fastinit generate --spec``, :func:`fastinit.torch.materialize` and any user code that names
tensors pick a tensor's stream with :func:`stream_of`, so the same name under the same seed gives
the same bits in a safetensors file, in a materialized model and from ``fastinit.<init>``.
"""
import hashlib

__all__ = ["stream_of"]


def stream_of(name):
    """The stream of the tensor named ``name``.

    Part of the bits contract (a change of this rule changes output bits: a version bump and a
    line in the changelog). The stream is the first 8 bytes of the SHA-256 digest (FIPS 180-4)
    of the UTF-8 encoding of ``name``, read as a little-endian unsigned 64-bit integer::

        int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")

    Parameters
    ----------
    name : str
        The tensor's name, such as a parameter's qualified name (``"layers.0.mlp.weight"``).
        Any ``str``, the empty one included; it is used exactly as given (no normalization of
        case, whitespace or Unicode form).

    Returns
    -------
    int
        In [0, 2**64): the ``stream`` argument of every fastinit initializer.

    Raises
    ------
    TypeError
        If ``name`` is not a ``str`` (``bytes`` included).
    ValueError
        If ``name`` has no UTF-8 encoding (it holds a lone surrogate).

    Notes
    -----
    The stream depends on the name alone, so a tensor's values never depend on the order of
    work, on the other tensors of a model, or on which process generates them.

    Why SHA-256: it is the rule ``fastinit generate --spec`` has used since specs exist, so files
    written by it keep their bits; it is in the standard library of every common language (and
    in browsers' WebCrypto), so anyone can recompute a stream without fastinit; and its output
    bits are uniform enough that distinct names get distinct, unrelated streams. The first 8
    bytes, little-endian, are the byte order of the Philox counter words the stream fills
    (words 2-3).

    Examples
    --------
    >>> import fastinit as fi
    >>> fi.stream_of("")
    1449310910991872227
    >>> w = fi.normal((4, 4), std=0.02, seed=5, stream=fi.stream_of("lin.weight"))
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r} of type {type(name).__name__}")
    try:
        data = name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"name must be encodable as UTF-8 (no lone surrogates), "
                         f"got {name!r}") from None
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little")
