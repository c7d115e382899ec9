"""The closed list of reasons a decision can give, with the sentence staff read.

Every ``wait`` and ``skip`` decision of the planner carries one of these;
``send`` carries :attr:`Reason.DUE`. The values are stable strings (they go
into JSON and the contact log); :func:`describe` gives the Spanish (or
English) sentence.
"""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    DUE = "due"
    SCHEDULED = "scheduled"
    QUIET_HOURS = "quiet_hours"
    SUNDAY = "sunday"
    CLOSED_DAY = "closed_day"
    HOLIDAY = "holiday"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    MIN_GAP = "min_gap"
    OTHER_CHANNEL_WEEK = "other_channel_week"
    NO_WINDOW = "no_window"
    CHANNEL_NOT_AUTHORISED = "channel_not_authorised"
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    OPTED_OUT = "opted_out"
    NO_VALID_PHONE = "no_valid_phone"
    PROMISE_PENDING = "promise_pending"
    REPLIED = "replied"
    ALREADY_PAID = "already_paid"
    LOAN_CLOSED = "loan_closed"
    ALREADY_CONTACTED = "already_contacted"
    SUPERSEDED = "superseded"
    LADDER_DONE = "ladder_done"
    CLOCK_UNTRUSTED = "clock_untrusted"
    SIM_CAP = "sim_cap"
    PAUSED = "paused"

    def __str__(self) -> str:
        return self.value


_ES = {
    Reason.DUE: "toca enviar este paso",
    Reason.SCHEDULED: "el paso aún no llega a su fecha y hora",
    Reason.QUIET_HOURS: "fuera del horario permitido para contactar",
    Reason.SUNDAY: "domingo: no se contacta",
    Reason.CLOSED_DAY: "día sin contacto según las reglas",
    Reason.HOLIDAY: "día festivo",
    Reason.DAILY_CAP: "ya se contactó hoy (máximo por día)",
    Reason.WEEKLY_CAP: "se alcanzó el máximo de contactos de la semana",
    Reason.MIN_GAP: "deben pasar más días desde el último mensaje",
    Reason.OTHER_CHANNEL_WEEK: "esta semana ya se usó otro canal",
    Reason.NO_WINDOW: "las reglas no dejan ningún momento para este contacto",
    Reason.CHANNEL_NOT_AUTHORISED: "el deudor no autorizó este canal",
    Reason.CHANNEL_UNAVAILABLE: "el equipo no puede usar este canal ahora (por ejemplo, llamadas sin audio)",
    Reason.OPTED_OUT: "el número pidió no recibir más mensajes (BAJA)",
    Reason.NO_VALID_PHONE: "no hay un teléfono válido",
    Reason.PROMISE_PENDING: "hay una promesa de pago vigente",
    Reason.REPLIED: "el deudor respondió al paso anterior",
    Reason.ALREADY_PAID: "la cuota ya está pagada",
    Reason.LOAN_CLOSED: "el crédito está cerrado (pagado, castigado o anulado)",
    Reason.ALREADY_CONTACTED: "este paso ya se envió",
    Reason.SUPERSEDED: "el paso venció sin poder enviarse; sigue el siguiente",
    Reason.LADDER_DONE: "ya se enviaron todos los pasos de la escalera",
    Reason.CLOCK_UNTRUSTED: "la hora del equipo no es confiable",
    Reason.SIM_CAP: "la SIM alcanzó su máximo de mensajes del día",
    Reason.PAUSED: "los envíos están en pausa",
}

_EN = {
    Reason.DUE: "this step is due",
    Reason.SCHEDULED: "the step's date and hour have not come yet",
    Reason.QUIET_HOURS: "outside the permitted contact hours",
    Reason.SUNDAY: "Sunday: no contact",
    Reason.CLOSED_DAY: "a day without contact under the rules",
    Reason.HOLIDAY: "public holiday",
    Reason.DAILY_CAP: "already contacted today (daily maximum)",
    Reason.WEEKLY_CAP: "weekly maximum of contacts reached",
    Reason.MIN_GAP: "more days must pass since the last message",
    Reason.OTHER_CHANNEL_WEEK: "another channel was used this week",
    Reason.NO_WINDOW: "the rules leave no time for this contact",
    Reason.CHANNEL_NOT_AUTHORISED: "the debtor did not authorise this channel",
    Reason.CHANNEL_UNAVAILABLE: "the appliance cannot use this channel now (e.g. calls without audio)",
    Reason.OPTED_OUT: "the number asked not to be contacted (STOP)",
    Reason.NO_VALID_PHONE: "no valid phone",
    Reason.PROMISE_PENDING: "a promise to pay is pending",
    Reason.REPLIED: "the debtor replied to the previous step",
    Reason.ALREADY_PAID: "the instalment is paid",
    Reason.LOAN_CLOSED: "the loan is closed (paid, written off or cancelled)",
    Reason.ALREADY_CONTACTED: "this step was already sent",
    Reason.SUPERSEDED: "the step lapsed before it could be sent; the next one follows",
    Reason.LADDER_DONE: "every step of the ladder was sent",
    Reason.CLOCK_UNTRUSTED: "the appliance's clock is not trusted",
    Reason.SIM_CAP: "the SIM reached its daily maximum of messages",
    Reason.PAUSED: "sending is paused",
}


def describe(reason: Reason | str, language: str = "es") -> str:
    """The sentence for ``reason`` in ``language`` (``"es"`` or ``"en"``)."""
    table = _EN if language == "en" else _ES
    return table[Reason(reason)]
