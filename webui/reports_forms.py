"""The period form of the reports (:mod:`webui.reports`): two dates in the address (``?desde=&hasta=``).

It is read with GET (it changes nothing, so it has no CSRF token and a report can be bookmarked). Both
dates are checked here with Spanish messages: a real date (``AAAA-MM-DD`` or ``DD/MM/AAAA``), the start
not after the end, at most :data:`MAX_DAYS` days (a bigger period would take minutes on a Raspberry Pi).
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import Form, StringField
from wtforms.validators import Length, ValidationError

from scheduler.kpis import Period
from webui.campaigns_forms import parse_day

MAX_DAYS = 731
"""The longest period a report covers (two years)."""


def _real_day(form, field):
    if field.data:
        try:
            parse_day(field.data)
        except ValueError:
            raise ValidationError(_l("Esa fecha no existe. Escríbala como AAAA-MM-DD (por ejemplo 2026-11-01)."))


class PeriodForm(Form):
    """``desde`` and ``hasta`` (both included; empty: the last 30 days up to today)."""

    desde = StringField(_l("Desde"), validators=[Length(max=10, message=_l("Escriba la fecha como AAAA-MM-DD.")),
                                                 _real_day])
    hasta = StringField(_l("Hasta"), validators=[Length(max=10, message=_l("Escriba la fecha como AAAA-MM-DD.")),
                                                 _real_day])

    def period(self, today: date) -> Period | None:
        """The period asked for (defaults: the 30 days ending ``today``, or ending ``hasta``), or ``None`` with
        the Spanish error on the field at fault. Call after ``validate()``."""
        end = parse_day(self.hasta.data) if self.hasta.data else today
        start = parse_day(self.desde.data) if self.desde.data else Period.last_days(end).start
        if start > end:
            self.desde.errors = list(self.desde.errors) + [_l("La fecha de inicio es posterior a la de fin.")]
            return None
        if (end - start).days + 1 > MAX_DAYS:
            self.desde.errors = list(self.desde.errors) + [
                _l("El periodo es demasiado largo: como máximo %(n)d días. Acórtelo.", n=MAX_DAYS)]
            return None
        return Period(start, end)
