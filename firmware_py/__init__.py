"""The Cobrador appliance itself: the program that owns the disk, the USB stick
and the clock, and wires the other packages together.

Owns: the ledger on disk (``firmware_py.ledger``), CSV import
(``firmware_py.importer``), configuration (``firmware_py.config``), logging
(``firmware_py.logs``), the ``cobrador`` command (``firmware_py.cli``) and the
appliance lifecycle (``firmware_py.app``). It sits on top of the dependency
graph: it may import ``scheduler``, ``modem``, ``webui`` and ``hardware``;
none of them imports it.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("cobrador")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
