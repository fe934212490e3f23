"""The slow, obvious references every kernel is compared with, bit for bit where the contract
promises bits: Philox4x32 from its definition, every bits-to-value transform in plain NumPy or
Python.

They ship with the package as ``fastinit.selftest.reference`` (``fastinit selftest`` checks an
installation against them on the user's machine); the suite takes them from there, so there is
one copy.
"""
from fastinit.selftest.reference import *  # noqa: F401,F403
