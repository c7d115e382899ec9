"""The ``cobrador`` command.

Each subcommand lives in its own module under ``firmware_py.commands`` and
exposes ``register(subparsers, common)``, where ``common`` is a parent parser
carrying the options every subcommand takes (``--config``, ``--log-level``).
Subcommands that touch the ledger add ``--data DIR`` with :func:`add_data_option`.

Language
--------
The command speaks Spanish, the cooperatives' language, and English when the
environment's locale is English. :func:`cli_language` reads the variables
gettext reads, in its order — ``LANGUAGE`` (its first entry), ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` — and takes the first that is set: ``en…``
(``en_US.UTF-8``, ``en``) is English; anything else, ``C``/``POSIX`` or
nothing set at all is Spanish (a systemd service or a bare container has no
``LANG``; the office still reads Spanish).

What is translated is the command line itself: usage, help, argparse's
errors (with the choices listed: ``argumento QUÉ: opción inválida: «loanz»
(elija entre loans, payments, contacts)``) and the commands' own notices and
argument errors. What the office reads as its records stays in Spanish in
both: the import report and its rejection reasons, the plan table, CSV
headers, and the ledger's and importer's errors about data and files.

Two gettext catalogues under ``firmware_py/locale`` (``.po`` is the source;
the ``.mo`` beside it is compiled from it and shipped, since an editable
install runs from the tree — after editing a ``.po`` run
``pybabel compile -d firmware_py/locale -D argparse`` and ``-D cobrador``;
a test fails while a ``.mo`` is stale):

* domain ``argparse``, ``es`` only: argparse's own English messages in
  Spanish (``usage:``, ``options``, ``invalid choice``, ``the following
  arguments are required``...; a test checks every message of the running
  Python's argparse is there). argparse calls ``gettext.gettext``, which
  looks in the process's text domain; :func:`speaking` binds the ``argparse``
  domain to our folder, makes it the text domain and sets ``LANGUAGE`` to the
  chosen language while the parser is built and parses (gettext picks a
  catalogue from the environment only), then puts all three back — nothing
  leaks into the command that runs or the processes it starts. In English no
  catalogue is found and argparse's own words are used.
* domain ``cobrador``, ``en`` only: our texts are written in Spanish in the
  code, wrapped in :func:`_` (and :func:`n_` for plurals); the English
  catalogue gives their English, Spanish needs none.
  ``pybabel extract -k _ -k n_:1,2 -o /tmp/cobrador.pot firmware_py/cli.py
  firmware_py/commands`` lists them (``pybabel update`` then merges them into
  the ``.po``; a test fails while one has no English).

Choices are :class:`Choice` words, which argparse lists plainly (``loans,
payments, contacts``, not ``'loans', 'payments', 'contacts'``).

Output
------
INFO log lines are the daemon's: ``run`` logs at the configured level (INFO
by default), every other command at WARNING unless ``--log-level`` says
otherwise (:func:`log_level`). A reader that goes away (``cobrador plan --json
| head``) ends the command quietly with status 141, as SIGPIPE would.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gettext
import importlib
import logging
import os
import sys
from pathlib import Path

from firmware_py import __version__
from firmware_py.config import load_config
from firmware_py.errors import CobradorError
from firmware_py.logs import setup_logging

# Order here is the order in ``cobrador --help``.
COMMAND_MODULES = ("run", "import_", "export", "plan", "examples", "status", "pause", "send_test", "set_password",
                   "backup", "doctor", "clock")

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "cobrador"  # our Spanish texts -> English
ARGPARSE_DOMAIN = "argparse"  # argparse's English messages -> Spanish
LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order

log = logging.getLogger("cobrador.cli")


def cli_language(environ=None) -> str:
    """``"en"`` when the locale's language is English, else ``"es"`` (see the module docstring)."""
    environ = os.environ if environ is None else environ
    for name in LANGUAGE_VARIABLES:
        value = environ.get(name)
        if value:
            first = value.split(":")[0].strip().lower()
            return "en" if first.startswith("en") else "es"
    return "es"


@functools.lru_cache(maxsize=None)
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def _(text: str) -> str:
    """``text`` — Spanish, as written in the code — in the command's language."""
    return _catalogue(cli_language()).gettext(text)


def n_(singular: str, plural: str, count: int) -> str:
    """The Spanish ``singular`` or ``plural`` for ``count``, in the command's language."""
    return _catalogue(cli_language()).ngettext(singular, plural, count)


@contextlib.contextmanager
def speaking(language: str):
    """argparse's messages in ``language`` inside the block (see the module docstring); everything is put back
    on the way out."""
    saved_language = os.environ.get("LANGUAGE")
    saved_domain = gettext.textdomain()
    saved_dir = gettext.bindtextdomain(ARGPARSE_DOMAIN)
    gettext.bindtextdomain(ARGPARSE_DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(ARGPARSE_DOMAIN)
    os.environ["LANGUAGE"] = language
    try:
        yield language
    finally:
        if saved_language is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_language
        gettext.textdomain(saved_domain)
        gettext.bindtextdomain(ARGPARSE_DOMAIN, saved_dir)


class Choice(str):
    """A word of a closed list (a command, ``loans``...) whose ``repr`` is the word itself.

    argparse writes the offending value and the choices with ``%r``; with ``type=Choice`` and
    ``choices=choices(...)`` both come out as typed: ``opción inválida: «loanz» (elija entre loans,
    payments, contacts)`` rather than ``'loanz'`` and ``'loans', 'payments', 'contacts'``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


def choices(*words: str) -> tuple[Choice, ...]:
    """``choices=`` for ``add_argument`` (with ``type=Choice``): the words, listed plainly in errors."""
    return tuple(Choice(w) for w in words)


def upper_choice(text: str) -> Choice:
    """``type=`` for a choice written in capitals (``--log-level info`` is ``INFO``)."""
    return Choice(text.upper())


class _Commands:
    """What ``register`` receives as ``subparsers``: argparse's subparsers action, with each command's name and
    aliases made :class:`Choice` words (listed plainly when a command is mistyped)."""

    def __init__(self, action):
        self._action = action

    def add_parser(self, name: str, *, aliases=(), **kwargs) -> argparse.ArgumentParser:
        return self._action.add_parser(Choice(name), aliases=[Choice(a) for a in aliases], **kwargs)


def positive_number(text: str) -> int:
    """``type=`` for counts (``--max-rows N``): a whole number of at least 1."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise argparse.ArgumentTypeError(_("se esperaba un número entero mayor que cero, no «{text}»")
                                         .format(text=text))
    return int(digits)


def port_number(text: str) -> int:
    """``type=`` for ``--port``: 1 to 65535."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= 65535:
        raise argparse.ArgumentTypeError(_("se esperaba un número de puerto de 1 a 65535, no «{text}»")
                                         .format(text=text))
    return int(digits)


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--data DIR`` (where the ledger lives) to a subcommand parser."""
    parser.add_argument("--data", metavar=_("CARPETA"), default=None,
                        help=_("carpeta de datos (registro de préstamos); por defecto ./var/ en desarrollo, "
                               "/var/lib/cobrador en el equipo"))


def existing_data_dir(config) -> Path:
    """The data folder of a command that only reads it (``export``, ``plan``); CobradorError if it is missing.

    ``run`` and ``import`` create a missing folder; a reader never does: a mistyped ``--data`` is said
    as such instead of reading as an empty ledger.
    """
    folder = Path(config.data_dir)
    if not folder.is_dir():
        if folder.exists():
            raise CobradorError(_("«{folder}» no es una carpeta; indique la carpeta de datos con --data.")
                                .format(folder=folder))
        raise CobradorError(_("La carpeta de datos «{folder}» no existe; indique la correcta con --data.")
                            .format(folder=folder))
    return folder


def log_level(args: argparse.Namespace, config) -> str:
    """``--log-level`` when given; else the configured level (INFO by default) for the daemon (``run``, which
    sets ``daemon=True``), WARNING for every other command: their INFO lines are not the user's output."""
    if args.log_level:
        return args.log_level
    return config.log_level if getattr(args, "daemon", False) else "WARNING"


def build_parser() -> argparse.ArgumentParser:
    """The whole parser, its texts in the command's language (build and use it inside :func:`speaking` for
    argparse's own words to follow)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar=_("ARCHIVO"), default=None,
                        help=_("archivo de configuración TOML (por defecto /etc/cobrador/cobrador.toml si existe)"))
    common.add_argument("--log-level", default=None, type=upper_choice,
                        choices=choices("DEBUG", "INFO", "WARNING", "ERROR"),
                        help=_("nivel de detalle del registro (por defecto INFO para «run», WARNING para los demás "
                               "comandos)"))
    parser = argparse.ArgumentParser(
        prog="cobrador",
        description=_("Cobrador: recordatorios de pago por SMS y llamada desde un módem GSM, sin internet."),
    )
    parser.add_argument("--version", action="version", version=f"cobrador {__version__}",
                        help=_("muestra la versión y termina"))
    subparsers = parser.add_subparsers(dest="command", metavar=_("COMANDO"), title=_("comandos"))
    subparsers.type = Choice  # a mistyped command is shown as typed (see Choice)
    for name in COMMAND_MODULES:
        importlib.import_module(f"firmware_py.commands.{name}").register(_Commands(subparsers), common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _broken_pipe()


def _main(argv: list[str] | None) -> int:
    with speaking(cli_language()):
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            sys.stdout.flush()  # --help, --version: a closed pipe is met here, not in the interpreter's exit
            raise
        if not getattr(args, "func", None):
            parser.print_help()
            sys.stdout.flush()
            return 2
    try:
        config = load_config(args.config)
        setup_logging(log_level(args, config))
        status = int(args.func(args, config) or 0)
        sys.stdout.flush()
        return status
    except CobradorError as exc:
        print(f"cobrador: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _broken_pipe() -> int:
    """The reader of our output went away (``cobrador plan --json | head``): stop quietly, as a command killed
    by SIGPIPE would (status 141), without a traceback. Standard output is pointed at /dev/null so the
    interpreter's final flush of what is still buffered does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (tests capturing output)
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
