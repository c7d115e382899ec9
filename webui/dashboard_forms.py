"""The dashboard's forms (Flask-WTF, Spanish messages that say what to do)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, ValidationError


class _Epoch:
    """The field holds whole seconds since 1970 (the time the page showed); the value is left as an int."""

    def __call__(self, form, field):
        text = (field.data or "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise ValidationError(_l("La página no envió la hora que usted vio. Vuelva a cargar la página, "
                                     "compare la hora y confirme de nuevo."))
        field.data = int(text)


class ClockForm(FlaskForm):
    """Confirm the clock: ``shown`` is the box's time the person compared with their phone (epoch seconds)."""

    shown = HiddenField(validators=[DataRequired(message=_l("La página no envió la hora que usted vio. Vuelva a "
                                                            "cargar la página, compare la hora y confirme de "
                                                            "nuevo.")), _Epoch()])


class DecisionForm(FlaskForm):
    """Staff's decision on a message in doubt: ``salio`` (the debtor got it) or ``no_salio``."""

    outcome = StringField(validators=[AnyOf(
        ("salio", "no_salio"), message=_l("Elija «salió» o «no salió» con uno de los dos botones."))])
