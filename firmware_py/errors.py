"""Errors raised by the appliance layer.

Every error carries a Spanish sentence for the person at the office
(``str(error)``) that says what went wrong and what to do.
"""


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
    """Another process already owns the ledger's data directory (lock file held)."""

    def __init__(self, path):
        super().__init__(
            f"Los datos en {path} ya están abiertos por otro proceso de Cobrador. "
            "Cierre el otro programa (o espere a que termine) y vuelva a intentarlo.",
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
    """A write could not be made durable (disk full, read-only or failing SD card).

    Nothing of the failed operation was applied.
    """

    def __init__(self, path, reason: str):
        super().__init__(
            f"No se pudo guardar en {path}: {reason}. No se registró el cambio. "
            "Revise que la tarjeta o el disco no esté lleno ni dañado y vuelva a intentarlo.",
            path=path,
        )


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
