"""The settings page's form (Flask-WTF, Spanish messages that say what to do)."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

MAX_CAP = 10_000
MAX_GRACE = 30
_PHONE = re.compile(r"^\+?[0-9 ()\-.]+$")


def _clean(form, field):
    """One line of printable text (no control characters), spaces trimmed."""
    text = field.data or ""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise ValidationError(_l("El texto tiene caracteres invisibles o saltos de línea. Escríbalo en una sola "
                                 "línea, sin copiarlo de otro programa."))
    field.data = " ".join(text.split())


def _phone(form, field):
    text = field.data or ""
    if not text:
        return
    digits = sum(c.isdigit() for c in text)
    if not _PHONE.match(text) or not 7 <= digits <= 15:
        raise ValidationError(_l("Escriba un teléfono de 7 a 15 dígitos (puede empezar con + y llevar espacios o "
                                 "guiones), por ejemplo 604 444 5566 o +57 300 123 4567."))


def _whole(low: int, high: int, message):
    """A whole number from ``low`` to ``high`` (the field's data becomes an int); ``message`` may use %(max)d."""
    def check(form, field):
        text = (field.data or "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 6 or not low <= int(text) <= high:
            raise ValidationError(str(message) % {"max": high})
        field.data = int(text)
    return check


class SettingsForm(FlaskForm):
    """What the cooperative may change while the box runs (ledger settings, read by ``Policy.with_settings``)."""

    cooperative_name = StringField(_l("Nombre de la cooperativa (como lo leen los deudores)"), validators=[
        DataRequired(message=_l("Escriba el nombre de la cooperativa.")),
        Length(min=2, max=60, message=_l("El nombre debe tener entre %(min)d y %(max)d caracteres.")), _clean])
    callback_number = StringField(_l("Teléfono para devolver la llamada"), validators=[
        Length(max=30, message=_l("El teléfono es demasiado largo.")), _clean, _phone])
    payment_methods = StringField(_l("Dónde y cómo pagar"), validators=[
        Length(max=160, message=_l("Máximo %(max)d caracteres: va dentro de los SMS.")), _clean])
    daily_sms_cap = StringField(_l("Máximo de SMS por día de la SIM"), validators=[
        DataRequired(message=_l("Escriba cuántos SMS por día puede enviar la SIM.")),
        _whole(1, MAX_CAP, _l("Escriba un número entero de 1 a %(max)d (sin puntos ni comas). Para no enviar "
                              "nada use «Pausar envíos» en Inicio."))])
    promise_grace_days = StringField(_l("Días de gracia de una promesa de pago"), validators=[
        DataRequired(message=_l("Escriba los días de gracia (0 si no hay).")),
        _whole(0, MAX_GRACE, _l("Escriba un número entero de días de 0 a %(max)d."))])
    language = SelectField(_l("Idioma de la página para quien no eligió otro"),
                           choices=[SelectChoice("es", "Español"), SelectChoice("en", "English")],
                           validate_choice=False)

    def validate_language(self, field):
        if field.data not in ("es", "en"):
            raise ValidationError(_l("Elija Español o English."))
