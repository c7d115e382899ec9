"""The inbox's forms (Flask-WTF, Spanish messages that say what to do)."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

MAX_REPLY_CHARS = 320
"""The longest reply a person may type (before the cooperative's name is put in front)."""
MAX_NOTE_CHARS = 200


def _printable(form, field):
    """Refuse control characters (a line break is allowed) and keep the text with Windows line ends folded."""
    text = (field.data or "").replace("\r\n", "\n").replace("\r", "\n")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") and c != "\n" for c in text):
        raise ValidationError(_l("El texto tiene caracteres invisibles o de control. Escríbalo de nuevo sin "
                                 "copiarlo de otro programa."))
    field.data = text.strip()


class ReplyForm(FlaskForm):
    """A short answer to a reply. ``action`` is ``ver`` (show what it costs, write nothing) or ``enviar``."""

    text = TextAreaField(_l("Respuesta"), validators=[
        DataRequired(message=_l("Escriba la respuesta.")),
        Length(max=MAX_REPLY_CHARS, message=_l("La respuesta es demasiado larga: escriba como máximo "
                                               "%(max)d caracteres.")),
        _printable])
    handled = BooleanField(_l("Marcar esta respuesta como atendida"), default=True)
    action = StringField(validators=[AnyOf(("ver", "enviar"), message=_l("Use uno de los dos botones."))],
                         default="enviar")


class ConfirmPaymentForm(FlaskForm):
    """Confirm a payment claim; ``loan`` is the loan it pays (checked against the debtor's loans in the view)."""

    loan = StringField(_l("Préstamo"), validators=[Length(max=100, message=_l("Elija un préstamo de la lista."))])


class RejectPaymentForm(FlaskForm):
    """Reject a payment claim, with an optional reason kept on the payment."""

    note = StringField(_l("Motivo (opcional)"), validators=[
        Length(max=MAX_NOTE_CHARS, message=_l("El motivo es demasiado largo: máximo %(max)d caracteres.")),
        _printable])
