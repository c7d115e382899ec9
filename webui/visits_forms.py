"""The visit list's form (Flask-WTF, Spanish messages that say what to do): a visit made and its result."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from scheduler.visits import NOTE_LIMIT

RESULT_LABELS = {"pago": _l("Pagó"), "promesa": _l("Prometió pagar"), "no_estaba": _l("No estaba"),
                 "otro": _l("Otro")}
"""The results of :data:`scheduler.visits.RESULTS` as the page names them."""


def _plain_text(form, field):
    """New lines as ``\\n``; no other invisible control or format character (they hide what was written)."""
    text = (field.data or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") and c != "\n" for c in text):
        raise ValidationError(_l("La nota tiene caracteres invisibles. Bórrela y escríbala de nuevo."))
    field.data = text


class VisitDoneForm(FlaskForm):
    """A visit made: ``result`` (a key of :data:`RESULT_LABELS`) and an optional ``note``."""

    result = SelectField(_l("Resultado"), choices=[SelectChoice(k, v) for k, v in RESULT_LABELS.items()],
                         validators=[InputRequired(message=_l("Elija el resultado de la visita."))])
    note = TextAreaField(_l("Nota (opcional)"), validators=[
        _plain_text, Length(max=NOTE_LIMIT, message=_l("Escriba como máximo %(max)d caracteres en la nota."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result.choices = [SelectChoice(k, str(v)) for k, v in RESULT_LABELS.items()]
        # an unknown choice gets the page's own words, not WTForms' English
        self.result.pre_validate = self._known_result

    def _known_result(self, form):
        if self.result.data not in RESULT_LABELS:
            raise ValidationError(_l("Elija el resultado de la visita: pagó, prometió pagar, no estaba u otro."))
