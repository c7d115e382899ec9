"""The ``cobrador`` command speaks Spanish, and English when the locale is English: argparse's own words
(usage, options, errors), our help texts and the command's own messages (see firmware_py/cli.py)."""

from __future__ import annotations

import argparse
import gettext
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from firmware_py import cli
from firmware_py.cli import Choice, cli_language, main, speaking

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "firmware_py" / "locale"
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
COMMANDS = ("run", "import", "export", "plan", "examples", "status", "pause", "resume", "send-test", "set-password",
            "backup", "restore", "doctor", "clock", "clock restore", "clock apply")
SPANISH_ENV = {"LANG": "es_CO.UTF-8"}
ENGLISH_ENV = {"LANG": "en_US.UTF-8"}
ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments", "show this help", "invalid choice",
                    "the following arguments", "unrecognized arguments", "expected one argument", "argument ")


def cobrador(*args, locale: dict[str, str], cwd=ROOT):
    """Run the command with only the given locale variables set (none: no locale at all)."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES}
    env.update(locale)
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", timeout=120, cwd=cwd, env=env)


# -- which language ---------------------------------------------------------------------------------
@pytest.mark.parametrize("environ,expected", [
    ({}, "es"),
    ({"LANG": "es_CO.UTF-8"}, "es"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "en"}, "en"),
    ({"LANG": "C.UTF-8"}, "es"),
    ({"LANG": "C"}, "es"),
    ({"LANG": "POSIX"}, "es"),
    ({"LANG": "fr_FR.UTF-8"}, "es"),
    ({"LANG": "pt_BR.UTF-8"}, "es"),
    ({"LANG": "es_CO.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LANG": "es_CO.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "es_MX.UTF-8"}, "es"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "es"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": ""}, "en"),  # an empty variable is not set
    ({"LANG": "es_CO.UTF-8", "LANGUAGE": "en_US:es"}, "en"),  # gettext's order: LANGUAGE first
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "es:en"}, "es"),
])
def test_language_is_chosen_from_the_locale_variables(environ, expected):
    assert cli_language(environ) == expected


# -- help ------------------------------------------------------------------------------------------------
SPANISH_LOCALES = [SPANISH_ENV, {}, {"LANG": "C.UTF-8"}, {"LANG": "fr_FR.UTF-8"}]
ENGLISH_LOCALES = [ENGLISH_ENV, {"LANG": "es_CO.UTF-8", "LC_ALL": "en_US.UTF-8"},
                   {"LANG": "es_CO.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}]


@pytest.mark.parametrize("locale", SPANISH_LOCALES, ids=["es_CO", "unset", "C.UTF-8", "fr_FR"])
def test_help_in_spanish(locale):
    result = cobrador("--help", locale=locale)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("uso: cobrador [-h] [--version] COMANDO ...")
    for text in ("opciones:", "muestra esta ayuda y termina", "muestra la versión y termina", "comandos:",
                 "importa la lista de préstamos (CSV o Excel)", "examples (ejemplos)"):
        assert text in out, out
    assert not any(word in out for word in ARGPARSE_ENGLISH), out


@pytest.mark.parametrize("locale", ENGLISH_LOCALES, ids=["en_US", "LC_ALL", "LC_MESSAGES"])
def test_help_in_english(locale):
    result = cobrador("--help", locale=locale)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("usage: cobrador [-h] [--version] COMMAND ...")
    for text in ("options:", "show this help message and exit", "show the version and exit", "commands:",
                 "import the loan list (CSV or Excel)", "examples (ejemplos)"):
        assert text in out, out
    assert "uso:" not in out and "muestra" not in out and "préstamos" not in out


def test_subcommand_help_in_spanish():
    out = cobrador("export", "--help", locale=SPANISH_ENV).stdout
    assert out.startswith("uso: cobrador export [-h] [--config ARCHIVO]")
    for text in ("argumentos posicionales:", "opciones:", "QUÉ", "--data CARPETA", "--out ARCHIVO",
                 "Exporta a CSV", "archivo de salida (por defecto, la pantalla)"):
        assert text in out, out
    assert not any(word in out for word in ARGPARSE_ENGLISH), out


def test_subcommand_help_in_english():
    out = cobrador("export", "--help", locale=ENGLISH_ENV).stdout
    assert out.startswith("usage: cobrador export [-h] [--config FILE]")
    for text in ("positional arguments:", "options:", "WHAT", "--data DIR", "--out FILE", "Export as CSV",
                 "output file (by default, the screen)"):
        assert text in out, out


# Spanish function words that no English help should contain (the alias «ejemplos» and the rejects file's
# Spanish suffix are names, not words).
_SPANISH = re.compile(r"\b(de|del|la|las|el|los|por|para|con|sin|que|una|en|qué|cuándo)\b|[áéíóúñ¿¡]",
                      re.IGNORECASE)
_NAMES = ("examples (ejemplos)", "FILE-rechazados.csv", "Cel. socio")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_is_all_english_in_english(command):
    out = cobrador(*command.split(), "--help", locale=ENGLISH_ENV).stdout
    assert out.startswith(f"usage: cobrador {command}")
    text = out
    for name in _NAMES:
        text = text.replace(name, "")
    assert not _SPANISH.search(text), f"Spanish left in {command} --help: {_SPANISH.search(text)!r}\n{out}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_is_all_spanish_in_spanish(command):
    out = cobrador(*command.split(), "--help", locale={}).stdout
    assert out.startswith(f"uso: cobrador {command}")
    assert "opciones:" in out and not any(word in out for word in ARGPARSE_ENGLISH), out


# -- argparse's errors -------------------------------------------------------------------------------
ERRORS = [  # (arguments, Spanish, English)
    (("export", "loanz"),
     "cobrador export: error: argumento QUÉ: opción inválida: «loanz» (elija entre loans, payments, contacts)",
     "cobrador export: error: argument WHAT: invalid choice: loanz (choose from loans, payments, contacts)"),
    (("exportar",),
     "cobrador: error: argumento COMANDO: opción inválida: «exportar» (elija entre run, import, export, plan, "
     "examples, ejemplos, status, pause, resume, send-test, set-password, backup, restore, doctor, clock)",
     "cobrador: error: argument COMMAND: invalid choice: exportar (choose from run, import, export, plan, "
     "examples, ejemplos, status, pause, resume, send-test, set-password, backup, restore, doctor, clock)"),
    (("clock", "ajustar"),
     "cobrador clock: error: argumento ACCIÓN: opción inválida: «ajustar» (elija entre restore, apply)",
     "cobrador clock: error: argument ACTION: invalid choice: ajustar (choose from restore, apply)"),
    (("set-password", "gerente", "--allow-web-reset", "0"),
     "cobrador set-password: error: argumento --allow-web-reset: se esperaba un número entero mayor que cero, "
     "no «0»",
     "cobrador set-password: error: argument --allow-web-reset: expected a whole number greater than zero, not "
     "'0'"),
    (("import",),
     "cobrador import: error: faltan argumentos obligatorios: ARCHIVO",
     "cobrador import: error: the following arguments are required: FILE"),
    (("export", "loans", "--formato", "x"),
     "cobrador: error: argumentos no reconocidos: --formato x",
     "cobrador: error: unrecognized arguments: --formato x"),
    (("import", "lista.csv", "--data"),
     "cobrador import: error: argumento --data: se esperaba un valor",
     "cobrador import: error: argument --data: expected one argument"),
    (("import", "lista.csv", "--max-rows", "mil"),
     "cobrador import: error: argumento --max-rows: se esperaba un número entero mayor que cero, no «mil»",
     "cobrador import: error: argument --max-rows: expected a whole number greater than zero, not 'mil'"),
    (("run", "--port", "80a"),
     "cobrador run: error: argumento --port: se esperaba un número de puerto de 1 a 65535, no «80a»",
     "cobrador run: error: argument --port: expected a port number from 1 to 65535, not '80a'"),
    (("plan", "--log-level", "mucho"),
     "cobrador plan: error: argumento --log-level: opción inválida: «MUCHO» (elija entre DEBUG, INFO, WARNING, "
     "ERROR)",
     "cobrador plan: error: argument --log-level: invalid choice: MUCHO (choose from DEBUG, INFO, WARNING, "
     "ERROR)"),
]


@pytest.mark.parametrize("args,spanish,english", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
@pytest.mark.parametrize("locale", [SPANISH_ENV, {}], ids=["es_CO", "unset"])
def test_argument_errors_in_spanish(args, spanish, english, locale):
    result = cobrador(*args, locale=locale)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("uso: cobrador")
    assert result.stderr.rstrip("\n").splitlines()[-1] == spanish, result.stderr


@pytest.mark.parametrize("args,spanish,english", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_argument_errors_in_english(args, spanish, english):
    result = cobrador(*args, locale=ENGLISH_ENV)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: cobrador")
    assert result.stderr.rstrip("\n").splitlines()[-1] == english, result.stderr


def test_a_lowercase_log_level_is_accepted(tmp_path):
    result = cobrador("examples", tmp_path / "e", "--log-level", "debug", locale={})
    assert result.returncode == 0, result.stderr


# -- the command's own messages ------------------------------------------------------------------------
def test_command_messages_in_both_languages(tmp_path):
    spanish = cobrador("export", "loans", "--data", tmp_path / "nada", locale=SPANISH_ENV)
    assert spanish.stderr == f"cobrador: La carpeta de datos «{tmp_path / 'nada'}» no existe; indique la correcta " \
                             "con --data.\n"
    english = cobrador("export", "loans", "--data", tmp_path / "nada", locale=ENGLISH_ENV)
    assert english.stderr == f"cobrador: The data folder '{tmp_path / 'nada'}' does not exist; give the right one " \
                             "with --data.\n"
    assert cobrador("import", LOANS, "--data", tmp_path / "d", locale={}).returncode == 0
    for count_locale, expected in (({}, "43 filas exportadas a"), (ENGLISH_ENV, "43 rows exported to")):
        result = cobrador("export", "loans", "--data", tmp_path / "d", "--out", tmp_path / "p.csv",
                          locale=count_locale)  # one row per instalment: 12 + 6 + 1 + 24
        assert result.returncode == 0 and result.stderr == f"{expected} {tmp_path / 'p.csv'}.\n", result.stderr
    examples = cobrador("examples", tmp_path / "e", locale=ENGLISH_ENV)
    assert examples.stdout.startswith(f"Example files in {tmp_path / 'e'}: ")
    assert cobrador("examples", tmp_path / "e2", locale={}).stdout.startswith("Archivos de ejemplo en ")
    bad_at = cobrador("plan", "--data", tmp_path / "d", "--at", "mañana", locale=ENGLISH_ENV)
    assert bad_at.returncode == 1 and "--at: invalid date and time 'mañana'" in bad_at.stderr


def test_the_import_report_stays_in_spanish_in_english(tmp_path):
    """The office's records — the import report and its reasons — are Spanish in both languages."""
    result = cobrador("import", LOANS, "--dry-run", locale=ENGLISH_ENV)
    assert result.returncode == 0 and "Filas leídas: 4." in result.stdout


# -- in the process -------------------------------------------------------------------------------------
def test_main_follows_the_environment_and_puts_it_back(monkeypatch, capsys):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LANGUAGE", raising=False)
    domain = gettext.textdomain()
    with pytest.raises(SystemExit) as info:
        main(["export", "loanz"])
    assert info.value.code == 2
    assert "argument WHAT: invalid choice: loanz" in capsys.readouterr().err
    assert "LANGUAGE" not in os.environ and gettext.textdomain() == domain
    monkeypatch.setenv("LANG", "es_CO.UTF-8")
    monkeypatch.setenv("LANGUAGE", "es_CO:es")
    with pytest.raises(SystemExit):
        main(["export", "loanz"])
    assert "argumento QUÉ: opción inválida: «loanz»" in capsys.readouterr().err
    assert os.environ["LANGUAGE"] == "es_CO:es" and gettext.textdomain() == domain


def test_speaking_puts_everything_back_even_on_an_error(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "fr")
    domain, folder = gettext.textdomain(), gettext.bindtextdomain(cli.ARGPARSE_DOMAIN)
    with pytest.raises(RuntimeError):
        with speaking("es"):
            assert os.environ["LANGUAGE"] == "es" and gettext.textdomain() == cli.ARGPARSE_DOMAIN
            assert gettext.gettext("usage: ") == "uso: "
            raise RuntimeError
    assert os.environ["LANGUAGE"] == "fr" and gettext.textdomain() == domain
    assert gettext.bindtextdomain(cli.ARGPARSE_DOMAIN) == folder


def test_choice_words_compare_as_strings():
    word = Choice("loans")
    assert word == "loans" and {"loans": 1}[word] == 1 and repr(word) == "loans" and str(word) == "loans"
    parser = argparse.ArgumentParser()
    parser.add_argument("what", type=Choice, choices=cli.choices("loans", "payments"))
    assert parser.parse_args(["payments"]).what == "payments"


# -- the catalogues -----------------------------------------------------------------------------------
def _catalogue(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _keys(messages) -> set:
    return {tuple(m[1]) if isinstance(m[1], (tuple, list)) else m[1] for m in messages}  # (line, message, ...)


def _catalogue_keys(catalog) -> dict:
    return {(tuple(m.id) if isinstance(m.id, (tuple, list)) else m.id): m for m in catalog if m.id}


def test_every_argparse_message_of_this_python_has_spanish():
    used = _keys(extract_from_file("python", argparse.__file__, keywords={"_": None, "ngettext": (1, 2)}))
    catalog = _catalogue_keys(_catalogue(LOCALE / "es" / "LC_MESSAGES" / "argparse.po"))
    assert used and not used - set(catalog), f"argparse messages without Spanish: {used - set(catalog)}"
    assert all(m.string and all(m.string) if isinstance(m.string, tuple) else m.string for m in catalog.values())


def test_every_text_of_the_command_has_english_and_none_is_stale():
    sources = [ROOT / "firmware_py" / "cli.py", *sorted((ROOT / "firmware_py" / "commands").glob("*.py"))]
    used = set()
    for source in sources:
        used |= _keys(extract_from_file("python", str(source), keywords={"_": None, "n_": (1, 2)}))
    catalog = _catalogue_keys(_catalogue(LOCALE / "en" / "LC_MESSAGES" / "cobrador.po"))
    assert not used - set(catalog), f"texts without English: {used - set(catalog)}"
    assert not set(catalog) - used, f"English for texts no longer in the code: {set(catalog) - used}"
    for key, message in catalog.items():
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        originals = key if isinstance(key, tuple) else (key,)
        assert all(translations), key
        fields = {f for text in originals for _, f, _, _ in string.Formatter().parse(text) if f}
        for text in translations:  # the same {placeholders} (and %(default)s for argparse)
            assert {f for _, f, _, _ in string.Formatter().parse(text) if f} == fields, key
            assert re.findall(r"%\(\w+\)s", text) == re.findall(r"%\(\w+\)s", originals[0]), key


@pytest.mark.parametrize("po", sorted(LOCALE.glob("*/LC_MESSAGES/*.po")), ids=lambda p: p.name)
def test_compiled_catalogues_match_their_sources(po):
    """The shipped .mo is ``pybabel compile`` of the .po beside it (recompile after editing a .po)."""
    with po.with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    source = _catalogue(po)
    count = 0
    for message in source:
        if not message.id:
            continue
        count += 1
        if isinstance(message.id, (tuple, list)):
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0]
            assert compiled.ngettext(message.id[0], message.id[1], 2) == message.string[1]
        else:
            assert compiled.gettext(message.id) == message.string, message.id
    assert len({k if isinstance(k, str) else k[0] for k in compiled._catalog if k}) == count  # nothing else


def test_the_catalogues_are_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "locale/*/LC_MESSAGES/*" in pyproject
