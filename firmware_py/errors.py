"""Errors raised by the appliance layer.

Every error carries a Spanish sentence for the person at the office
(``str(error)``) that says what went wrong and what to do.
"""

import errno as _errno
from pathlib import Path


class CobradorError(Exception):
    """Base of every error raised by ``firmware_py``."""


class ConfigError(CobradorError, ValueError):
    """The configuration file is missing, unreadable or has an invalid value.

    ``path`` is the file, ``key`` the dotted setting at fault (or ``None``).
    """

    def __init__(self, message: str, *, path=None, key: str | None = None):
        super().__init__(message)
        self.path = path
        self.key = key


class LedgerError(CobradorError):
    """Base of every error raised by ``firmware_py.ledger``.

    ``path`` is the data directory or file concerned (or ``None``).
    """

    def __init__(self, message: str, *, path=None):
        super().__init__(message)
        self.path = path


class LedgerLocked(LedgerError):
    """Another process already owns the ledger's data directory (lock file held).

    Usually the appliance's own service (``cobrador run`` under systemd): the
    message says how to stop it, or to import through its web page instead.
    """

    def __init__(self, path):
        super().__init__(
            f"Los datos en {path} ya están abiertos por otro proceso de Cobrador (normalmente el servicio "
            "del equipo, que está funcionando). Detenga el servicio con «sudo systemctl stop cobrador», "
            "vuelva a intentarlo y arránquelo después con «sudo systemctl start cobrador»; o, sin detenerlo, "
            "importe el archivo desde la página web del equipo.",
            path=path,
        )


class LedgerReadOnly(LedgerError):
    """A write was attempted on a ledger opened with ``read_only=True``: nothing was written."""

    def __init__(self, path=None):
        where = f" en {path}" if path is not None else ""
        super().__init__(
            f"El registro de cobranza{where} está abierto solo para lectura: no se guardó ningún cambio.",
            path=path,
        )


class LedgerCorrupt(LedgerError):
    """Neither the snapshot nor its backup could be read: nothing could be recovered."""

    def __init__(self, path, detail: str = ""):
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Los datos de cobranza en {path} están dañados y no se pudieron recuperar{extra}. "
            "No borre la carpeta: cópiela a una memoria USB, restaure la última copia de seguridad "
            "o vuelva a importar el archivo de préstamos, y avise al soporte técnico.",
            path=path,
        )


class LedgerWriteError(LedgerError, OSError):
    """A write could not be made durable (disk full, read-only or failing SD card, no permission).

    Nothing of the failed operation was applied. ``reason`` is the system's
    text; ``errno`` the cause's error number when known (given, or taken from
    the ``OSError`` it was raised from), which picks the advice: a read-only
    folder (EROFS), a permission problem (EACCES/EPERM), a full disk, or a
    failing card.
    """

    def __init__(self, path, reason: str, *, errno: int | None = None):
        self.reason = reason
        super().__init__(write_error_message(path, reason, errno), path=path)
        self.errno = errno

    @classmethod
    def from_os_error(cls, path, exc: OSError) -> "LedgerWriteError":
        """The error for ``exc`` (an ``OSError``) while writing ``path``."""
        return cls(path, exc.strerror or str(exc), errno=exc.errno)

    @property
    def cause_errno(self) -> int | None:
        if self.errno is not None:
            return self.errno
        cause = self.__cause__
        return cause.errno if isinstance(cause, OSError) else None

    @property
    def short_reason(self) -> str:
        """The cause in a few Spanish words when known ("no queda espacio en el disco"), else the system's text."""
        return _ERRNO_ES.get(self.cause_errno, self.reason)

    def __str__(self) -> str:
        # ``raise LedgerWriteError(path, reason) from exc`` sets the cause after __init__: the advice
        # is chosen when the message is read
        return write_error_message(self.path, self.reason, self.cause_errno)


def unwritable_folder(path) -> Path:
    """The folder a failed write of ``path`` was refused in: ``path`` itself if it is a folder, else
    the folder that holds (or would hold) it."""
    path = Path(path)
    try:
        return path if path.is_dir() else path.parent
    except OSError:
        return path.parent


def describe_os_error(exc: OSError) -> str:
    """A short Spanish cause for an ``OSError`` (the system's text for uncommon ones)."""
    text = _ERRNO_ES.get(exc.errno)
    return text or exc.strerror or str(exc)


_ERRNO_ES = {
    _errno.EROFS: "la carpeta es de solo lectura",
    _errno.EACCES: "sin permiso",
    _errno.EPERM: "sin permiso",
    _errno.ENOSPC: "no queda espacio en el disco",
    _errno.EDQUOT: "no queda espacio en el disco",
    _errno.EFBIG: "no queda espacio en el disco",
    _errno.ENOENT: "no existe",
    _errno.EIO: "error de lectura o escritura del disco",
    _errno.ENOTDIR: "una parte de la ruta no es una carpeta",
    _errno.EISDIR: "es una carpeta",
}


def write_error_message(path, reason: str, errno: int | None) -> str:
    """The Spanish message of a ``LedgerWriteError`` (see there)."""
    folder = unwritable_folder(path)
    if errno == _errno.EROFS:
        return (f"No se pudo guardar en {path}: la carpeta {folder} es de solo lectura (una tarjeta o memoria "
                "montada solo para lectura o protegida contra escritura). No se registró el cambio. "
                "Para consultar o exportar los datos no hace falta escribir; para guardar cambios, vuelva a "
                "montarla con permiso de escritura y vuelva a intentarlo.")
    if errno in (_errno.EACCES, _errno.EPERM):
        return (f"No se pudo guardar en {path}: sin permiso para escribir en la carpeta {folder}. "
                "No se registró el cambio. Use el mismo usuario que el servicio de Cobrador "
                "(por ejemplo «sudo -u cobrador cobrador …») o pida al administrador permiso de escritura "
                "en esa carpeta, y vuelva a intentarlo.")
    if errno in (_errno.ENOSPC, _errno.EDQUOT, _errno.EFBIG):
        return (f"No se pudo guardar en {path}: no queda espacio en la tarjeta o el disco. "
                "No se registró el cambio. Libere espacio y vuelva a intentarlo.")
    return (f"No se pudo guardar en {path}: {_ERRNO_ES.get(errno, reason)}. No se registró el cambio. "
            "Revise que la tarjeta o el disco no esté lleno ni dañado y vuelva a intentarlo.")


class LedgerClosed(LedgerError):
    """The ledger was used after ``close()``."""

    def __init__(self, path=None):
        super().__init__("Los datos de cobranza ya están cerrados; reinicie Cobrador.", path=path)


class LedgerIntegrityError(LedgerError, ValueError):
    """A write was refused because it would make the ledger inconsistent.

    Examples: a loan pointing at a debtor that does not exist, the same id
    twice with different content in one import, an unknown record. Nothing
    was written.
    """


class LedgerVersionError(LedgerError):
    """The data was written by a newer Cobrador (a record's schema_version is unknown here).

    Nothing is changed: opening refuses rather than hiding records it cannot read.
    """

    def __init__(self, path, detail: str = ""):
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Los datos en {path} fueron guardados por una versión más nueva de Cobrador{extra}. "
            "Instale esa versión (o una más reciente) para abrirlos; no se modificó nada.",
            path=path,
        )
