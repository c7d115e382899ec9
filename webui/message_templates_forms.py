"""Forms of the message-template page (:mod:`webui.message_templates`).

The texts are checked here for presence and length (a message longer than :data:`MAX_TEXT` characters
is refused with a Spanish message); placeholders, the cooperative's name and the shared-phone rules are
checked by the engine's own validation (:func:`scheduler.templates.check_template`, then
:func:`scheduler.policy.load_policy` before saving).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from webui.campaigns_forms import printable

MAX_TEXT = 1000
"""The longest template text accepted (about six SMS in the GSM alphabet)."""

TEXT_FIELDS = ("es", "es_compartido", "en", "en_compartido")
"""The texts of a template, as ``[templates.NAME]`` names them."""

TONES = ("amable", "firme", "positivo")


def choices(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as a select's choices."""
    return [SelectChoice(value, label) for value, label in pairs]

_TOO_LONG = _l("El texto es demasiado largo: máximo %(n)d caracteres. Acórtelo.", n=MAX_TEXT)


def _text(label, *, required: bool):
    validators = [Length(max=MAX_TEXT, message=_TOO_LONG), printable]
    if required:
        validators.insert(0, DataRequired(message=_l("Escriba el texto: no puede quedar vacío.")))
    return TextAreaField(label, validators=validators, filters=[_clean])


def _clean(value):
    """Browsers send new lines as CR LF; an SMS writes LF. Surrounding spaces are dropped."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else value


class TemplateForm(FlaskForm):
    """One template's texts (Spanish and English, personal and shared phone), its tone, and what the preview
    uses: a debtor (id or part of the name; empty: an example) and the transliteration."""

    tone = SelectField(_l("Tono"), choices=choices([("", _l("sin tono"))] + [(t, t) for t in TONES]))
    es = _text(_l("Español — teléfono personal"), required=True)
    es_compartido = _text(_l("Español — teléfono compartido"), required=True)
    en = _text(_l("Inglés — teléfono personal"), required=False)
    en_compartido = _text(_l("Inglés — teléfono compartido"), required=False)
    debtor = StringField(_l("Vista previa para el deudor (nombre, documento o código; vacío: un ejemplo)"),
                         validators=[Length(max=100, message=_l("Máximo 100 caracteres.")), printable],
                         filters=[_clean])
    transliterate = BooleanField(_l("Quitar tildes (á é í ó ú) cuando así el mensaje cabe en el alfabeto GSM"))

    def texts(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in TEXT_FIELDS}

    def body(self) -> dict:
        """The template as ``[templates.NAME]`` writes it (an empty English text is left out: the default
        English text is used, or the Spanish one)."""
        body = {name: text for name, text in self.texts().items() if text}
        if self.tone.data:
            body["tone"] = self.tone.data
        return body


class NewTemplateForm(FlaskForm):
    """A new template, copied from an existing one."""

    name = StringField(_l("Nombre interno"), validators=[
        DataRequired(message=_l("Escriba un nombre, por ejemplo aviso_feria.")),
        Length(max=40, message=_l("Máximo 40 caracteres.")),
        Regexp(r"^[a-z][a-z0-9_]{1,39}$", message=_l("Use solo letras minúsculas sin tildes, números y _, empezando "
                                                     "por una letra (por ejemplo aviso_feria)."))])
    copy_from = SelectField(_l("Copiar el texto de"), choices=[])


class TransliterateForm(FlaskForm):
    """The engine's ``[messages] transliterate`` switch."""

    transliterate = BooleanField(_l("Quitar tildes (á é í ó ú) cuando así el mensaje cabe en el alfabeto GSM"))
