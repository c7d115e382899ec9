"""The forms of the campaigns page (and small validators the template and report pages share).

The engine edits they feed live in :mod:`webui.engine_edits` (:class:`~webui.engine_edits.EngineEdits`,
re-exported here for the pages that import it from this module).

The forms turn what staff type into the engine sections: contact-rule profile, the thanks for paying on
time (``[messages] thank_you``, ``thank_you_days``), extra days off, ladder steps and each segment's ladder.
Every number and date is checked here with a Spanish message that says what to write; the rest is checked by
``load_policy``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from scheduler.ladder import CONDITIONS
from scheduler.rules.profiles import BUILTIN, WEEKDAYS_ES, ContactProfile
from webui.engine_edits import EngineEdits, EngineUnavailable  # noqa: F401 (re-exported)


def choices(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as a select's choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def message_without_key(error: Exception) -> str:
    """The Spanish message of a ``PolicyError`` without its leading «key»: (the page shows it next to the
    field the key names)."""
    text = re.sub(r"^«[^»]*»:?\s*", "", str(error)).strip()
    return text[:1].upper() + text[1:] if text else str(error)


# -- small validators and parsers --------------------------------------------------------------------------------------
def whole_number(low: int, high: int, *, required: bool = False):
    """A validator: the field holds a whole number from ``low`` to ``high`` (empty allowed unless
    ``required``); the Spanish message says the range."""
    def check(form, field):
        text = (field.data or "").strip()
        if not text:
            if required:
                raise ValidationError(_l("Escriba un número entero entre %(low)d y %(high)d.", low=low, high=high))
            return
        if not re.fullmatch(r"[+-]?\d{1,6}", text) or not low <= int(text) <= high:
            raise ValidationError(_l("Escriba un número entero entre %(low)d y %(high)d.", low=low, high=high))
    return check


def as_int(text: str | None) -> int | None:
    """The field's whole number (validated by :func:`whole_number`), ``None`` when empty."""
    text = (text or "").strip()
    return int(text) if text else None


def parse_day(text: str) -> date:
    """``AAAA-MM-DD`` or ``DD/MM/AAAA`` -> a date between 2000 and 2100; ``ValueError`` otherwise."""
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if match:
        day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    else:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    if not 2000 <= day.year <= 2100:
        raise ValueError(text)
    return day


def valid_day(form, field):
    """A validator: a real date (see :func:`parse_day`)."""
    try:
        parse_day(field.data)
    except ValueError:
        raise ValidationError(_l("Esa fecha no existe. Escríbala como AAAA-MM-DD (por ejemplo 2026-12-24)."))


def printable(form, field):
    """A validator: no invisible control or format character (a new line is allowed): they cannot be sent
    by SMS, or silently make a message cost more."""
    text = field.data or ""
    if any(unicodedata.category(c) in ("Cc", "Cf") and c != "\n" for c in text):
        raise ValidationError(_l("El texto tiene caracteres invisibles que no se pueden enviar. Bórrelos y "
                                 "escríbalo de nuevo."))


def valid_hour(form, field):
    """A validator: ``HH:MM`` between 00:00 and 23:59."""
    try:
        time.fromisoformat((field.data or "").strip())
        if not re.fullmatch(r"\d{2}:\d{2}", (field.data or "").strip()):
            raise ValueError
    except ValueError:
        raise ValidationError(_l("Escriba la hora como HH:MM, por ejemplo 09:00."))


# -- contact-rule profile ----------------------------------------------------------------------------------------------
DAY_KEYS = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")
"""How a custom profile's ``hours`` table names each weekday (0 = Monday)."""

COUNTS = ("max_per_day", "max_sms_per_week", "max_calls_per_week", "max_visits_per_week", "sms_min_gap_days")


def profile_choices() -> list[tuple[str, str]]:
    return choices([(code, profile.name) for code, profile in BUILTIN.items()]
                   + [("custom", _l("Reglas propias de la cooperativa"))])


class ProfileForm(FlaskForm):
    """The contact-rule profile: a country's, or the cooperative's own (hours per day, caps, gap, one
    channel a week)."""

    profile = SelectField(_l("Reglas de contacto"), choices=profile_choices,
                          validate_choice=True)
    hours_0 = StringField(_l("Lunes"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_1 = StringField(_l("Martes"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_2 = StringField(_l("Miércoles"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_3 = StringField(_l("Jueves"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_4 = StringField(_l("Viernes"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_5 = StringField(_l("Sábado"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    hours_6 = StringField(_l("Domingo"), validators=[Length(max=100, message=_l("Máximo 100 caracteres."))])
    max_per_day = StringField(_l("Contactos por día (cualquier canal; vacío: sin límite)"),
                              validators=[whole_number(0, 20)])
    max_sms_per_week = StringField(_l("Mensajes SMS por semana (vacío: sin límite)"), validators=[whole_number(0, 50)])
    max_calls_per_week = StringField(_l("Llamadas por semana (vacío: sin límite)"), validators=[whole_number(0, 50)])
    max_visits_per_week = StringField(_l("Visitas por semana (vacío: sin límite)"), validators=[whole_number(0, 20)])
    sms_min_gap_days = StringField(_l("Días mínimos entre dos SMS"), validators=[whole_number(0, 14)])
    holidays_closed = BooleanField(_l("No contactar en días festivos"))
    one_channel_per_week = BooleanField(_l("Un solo canal por semana"))

    def hour_fields(self):
        return [getattr(self, f"hours_{d}") for d in range(7)]

    def fill(self, profile: ContactProfile) -> None:
        """Show ``profile`` (a built-in one fills the custom fields as the starting point)."""
        self.profile.data = profile.code
        for day, field in enumerate(self.hour_fields()):
            field.data = ", ".join(f"{a:%H:%M}-{'24:00' if b == time(0) else f'{b:%H:%M}'}"
                                   for a, b in profile.windows_on(day))
        counts = {name: "" for name in COUNTS}
        for cap in profile.caps:
            limit = "" if cap.limit is None else str(cap.limit)
            if cap.period == "day":
                counts["max_per_day"] = limit
            elif cap.channels == frozenset({"sms"}):
                counts["max_sms_per_week"] = limit
                counts["sms_min_gap_days"] = str(cap.min_gap_days) if cap.min_gap_days else ""
            else:
                if cap.channels & {"call", "ring"}:
                    counts["max_calls_per_week"] = limit
                if "visit" in cap.channels:
                    counts["max_visits_per_week"] = limit
        for name, value in counts.items():
            getattr(self, name).data = value
        self.holidays_closed.data = profile.closed_on_holidays
        self.one_channel_per_week.data = profile.one_channel_per_week

    def rules(self) -> dict:
        """The ``[rules]`` keys this form sets: ``profile`` and ``custom`` (empty for a country's profile,
        so that a ``[rules.custom]`` of the file does not stay beside it)."""
        if self.profile.data != "custom":
            return {"profile": self.profile.data, "custom": {}}
        hours = {DAY_KEYS[d]: f.data.strip() for d, f in enumerate(self.hour_fields()) if (f.data or "").strip()}
        custom: dict[str, Any] = {"hours": hours, "holidays_closed": bool(self.holidays_closed.data),
                                  "one_channel_per_week": bool(self.one_channel_per_week.data),
                                  "max_per_day": as_int(self.max_per_day.data)}
        for name in COUNTS[1:]:
            value = as_int(getattr(self, name).data)
            if value is not None:
                custom[name] = value
        return {"profile": "custom", "custom": custom}

    def field_for(self, key: str):
        """The field a ``PolicyError`` key names (``rules.custom.hours.lun`` -> Monday), or ``None``."""
        if key.startswith("rules.custom.hours."):
            day = key.rsplit(".", 1)[1].split("-")[0]
            if day in DAY_KEYS:
                return getattr(self, f"hours_{DAY_KEYS.index(day)}")
        if key == "rules.custom.hours":
            return self.hours_0
        if key.startswith("rules.custom."):
            return getattr(self, key.rsplit(".", 1)[1], None)
        if key.startswith("rules.profile"):
            return self.profile
        return None


WEEKDAY_LABELS = WEEKDAYS_ES


# -- thanks for paying on time ---------------------------------------------------------------------------------------
THANK_YOU_DAYS = (0, 30)
"""The range of ``[messages] thank_you_days`` (as ``load_policy`` checks it)."""


class ThankYouForm(FlaskForm):
    """The ``[messages]`` keys ``thank_you`` and ``thank_you_days``: one ``gracias_pago`` SMS when an
    instalment is paid in full on or before its due date, at most that many days after the payment."""

    thank_you = BooleanField(_l("Agradecer los pagos a tiempo"))
    thank_you_days = StringField(_l("Días para agradecer después del pago"),
                                 validators=[whole_number(*THANK_YOU_DAYS, required=True)])

    def fill(self, policy) -> None:
        self.thank_you.data = policy.thank_you
        self.thank_you_days.data = str(policy.thank_you_days)

    def messages(self) -> dict:
        """The ``[messages]`` keys this form sets."""
        return {"thank_you": bool(self.thank_you.data), "thank_you_days": int(self.thank_you_days.data.strip())}

    def field_for(self, key: str):
        """The field a ``PolicyError`` key names (``messages.thank_you_days``), or ``None``."""
        return {"messages.thank_you": self.thank_you, "messages.thank_you_days": self.thank_you_days}.get(key)


# -- extra days off ----------------------------------------------------------------------------------------------------
class HolidayForm(FlaskForm):
    """One more day without contacts (a local fiesta, an office closure)."""

    day = StringField(_l("Fecha"), validators=[DataRequired(message=_l("Escriba la fecha, por ejemplo 2026-12-24.")),
                                               Length(max=10, message=_l("Escriba la fecha como AAAA-MM-DD.")),
                                               valid_day])
    name = StringField(_l("Motivo (opcional)"), validators=[Length(max=80, message=_l("Máximo 80 caracteres.")),
                                                            printable])


class HolidayRemoveForm(FlaskForm):
    """Remove one of the cooperative's days off."""

    day = StringField(validators=[DataRequired(message=_l("Falta la fecha.")), Length(max=10), valid_day])


def holidays_as_list(value: Any) -> list[dict]:
    """``rules.extra_holidays`` as ``[{"date": "AAAA-MM-DD", "name": ...}]`` sorted by date (entries that
    are not dates are left out: ``load_policy`` refuses them anyway)."""
    out = []
    for item in value or []:
        name = ""
        if isinstance(item, dict):
            name, item = str(item.get("name", "")), item.get("date")
        try:
            day = item if isinstance(item, date) else date.fromisoformat(str(item))
        except ValueError:
            continue
        out.append({"date": day.isoformat(), "name": name})
    return sorted(out, key=lambda d: d["date"])


# -- ladders -----------------------------------------------------------------------------------------------------------
CHANNEL_LABELS = {"sms": _l("SMS"), "call": _l("Llamada"), "ring": _l("Llamada perdida"), "visit": _l("Visita del asesor")}
CHANNELS = ("sms", "call", "ring", "visit")
NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class StepForm(Form):
    """One rung of a ladder (a sub-form: the page's form carries the CSRF token)."""

    offset = StringField(_l("Día (respecto al vencimiento)"), validators=[whole_number(-60, 365, required=True)])
    hour = StringField(_l("Hora"), validators=[valid_hour])
    channel = SelectField(_l("Canal"), choices=choices((c, CHANNEL_LABELS[c]) for c in CHANNELS))
    fallback = SelectField(_l("Canal de respaldo"),
                           choices=choices([("", _l("ninguno"))] + [(c, CHANNEL_LABELS[c]) for c in CHANNELS]))
    template = SelectField(_l("Plantilla"), choices=[])
    no_promise = BooleanField(_l("Solo sin promesa de pago vigente"))
    no_reply = BooleanField(_l("Solo si no respondió al paso anterior"))
    use_best_hour = BooleanField(_l("Usar la mejor hora del deudor"))
    repeat_every = StringField(_l("Repetir cada (días)"), validators=[whole_number(1, 90)])

    def step(self) -> dict:
        """The step as ``[ladders.NAME] steps`` writes it."""
        when = ["unpaid"] + (["no_promise"] if self.no_promise.data else []) + (["no_reply"] if self.no_reply.data else [])
        out: dict[str, Any] = {"offset": int(self.offset.data), "channel": self.channel.data,
                               "template": self.template.data, "hour": self.hour.data.strip(), "when": when,
                               "use_best_hour": bool(self.use_best_hour.data)}
        if self.fallback.data:
            out["fallback"] = self.fallback.data
        repeat = as_int(self.repeat_every.data)
        if repeat:
            out["repeat_every"] = repeat
        return out


class LadderForm(FlaskForm):
    """A ladder's label and steps (add, remove and move steps are buttons of the same form)."""

    label = StringField(_l("Nombre visible"), validators=[DataRequired(message=_l("Escriba un nombre para la escalera.")),
                                                           Length(max=60, message=_l("Máximo 60 caracteres.")),
                                                           printable])
    steps = FieldList(FormField(StepForm), min_entries=0, max_entries=30)

    def set_templates(self, names) -> None:
        options = choices((n, n) for n in sorted(names))
        for entry in self.steps:
            entry.form.template.choices = options

    def fill(self, ladder) -> None:
        self.label.data = ladder.label or ladder.name
        while len(self.steps):
            self.steps.pop_entry()
        for step in ladder.steps:
            self.steps.append_entry({
                "offset": str(step.offset), "hour": f"{step.hour:%H:%M}", "channel": step.channel,
                "fallback": step.fallback or "", "template": step.template,
                "no_promise": "no_promise" in step.conditions, "no_reply": "no_reply" in step.conditions,
                "use_best_hour": step.use_best_hour,
                "repeat_every": str(step.repeat_every) if step.repeat_every else ""})

    def body(self) -> dict:
        """The ladder as ``[ladders.NAME]`` writes it."""
        return {"label": self.label.data.strip(), "steps": [entry.form.step() for entry in self.steps]}

    def field_for(self, key: str):
        """The field a ``PolicyError`` key names (``ladders.X.steps[2].template``), or ``None``."""
        match = re.search(r"steps\[(\d+)\](?:\.(\w+))?", key)
        if match and int(match.group(1)) < len(self.steps):
            entry = self.steps[int(match.group(1))].form
            return getattr(entry, match.group(2) or "offset", None) or entry.offset
        return None


def blank_step(template: str) -> dict:
    return {"offset": "", "hour": "09:00", "channel": "sms", "fallback": "", "template": template,
            "no_promise": True, "no_reply": False, "use_best_hour": True, "repeat_every": ""}


class NewLadderForm(FlaskForm):
    """A new ladder, copied from an existing one."""

    name = StringField(_l("Nombre interno"), validators=[
        DataRequired(message=_l("Escriba un nombre, por ejemplo mora_suave.")),
        Length(max=40, message=_l("Máximo 40 caracteres.")),
        Regexp(NAME, message=_l("Use solo letras minúsculas sin tildes, números y _, empezando por una letra "
                                "(por ejemplo mora_suave)."))])
    copy_from = SelectField(_l("Copiar los pasos de"), choices=[])


class SegmentsForm(FlaskForm):
    """Which ladder each segment rule uses (in the rules' order)."""

    ladders = FieldList(SelectField(_l("Escalera"), choices=[]), min_entries=0, max_entries=50)

    def set_ladders(self, names) -> None:
        options = choices((n, n) for n in sorted(names))
        for entry in self.ladders:
            entry.choices = options


def segment_as_config(rule) -> dict:
    """A :class:`scheduler.segments.SegmentRule` as ``[[segments]]`` writes it (only the conditions it sets)."""
    out: dict[str, Any] = {"name": rule.name, "label": rule.label, "ladder": rule.ladder}
    if rule.tone:
        out["tone"] = rule.tone
    for name in ("min_days_late", "max_days_late", "min_broken_promises", "min_risk"):
        if getattr(rule, name) is not None:
            out[name] = getattr(rule, name)
    for name in ("min_outstanding", "max_outstanding"):
        if getattr(rule, name) is not None:
            out[name] = str(getattr(rule, name))
    if rule.min_share_paid_late is not None:
        out["min_share_paid_late"] = rule.min_share_paid_late
    for name in ("products", "tags", "officers"):
        if getattr(rule, name):
            out[name] = sorted(getattr(rule, name))
    return out


def describe_segment(rule) -> list[str]:
    """The conditions of a segment rule, in Spanish words (for the segments list)."""
    parts = []
    if rule.min_days_late is not None:
        parts.append(_l("al menos %(n)d días de atraso", n=rule.min_days_late))
    if rule.max_days_late is not None:
        parts.append(_l("como mucho %(n)d días de atraso", n=rule.max_days_late))
    if rule.min_broken_promises is not None:
        parts.append(_l("al menos %(n)d promesas incumplidas", n=rule.min_broken_promises))
    if rule.min_share_paid_late is not None:
        parts.append(_l("pagó tarde al menos el %(p)d %% de las cuotas", p=round(rule.min_share_paid_late * 100)))
    if rule.min_risk is not None:
        parts.append(_l("riesgo de al menos %(n)d", n=rule.min_risk))
    if rule.min_outstanding is not None:
        parts.append(_l("saldo de al menos %(v)s", v=rule.min_outstanding))
    if rule.max_outstanding is not None:
        parts.append(_l("saldo de como mucho %(v)s", v=rule.max_outstanding))
    for name, label in (("products", _l("producto")), ("tags", _l("etiqueta")), ("officers", _l("asesor"))):
        if getattr(rule, name):
            parts.append(f"{label}: {', '.join(sorted(getattr(rule, name)))}")
    return parts


CONDITION_LABELS = CONDITIONS
