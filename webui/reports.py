"""Reports: how collection went over a period — on the page, as a printable board pack, and as CSV.

Routes (``lectura``; they change nothing, so the period travels in the address: ``?desde=AAAA-MM-DD&hasta=…``,
by default the last 30 days):

- ``GET /informes`` — the figures of the period for the whole portfolio, per segment and per template:
  delivery, reply and promise rates, promises kept, collected vs due, recovery, PAR30, PAR90 and aging,
  with bar charts drawn on the server (:mod:`webui.svg`).
- ``GET /informes/junta`` — the same as a board pack for paper: the print stylesheet and a button that
  opens the browser's print window (print or save as PDF).
- ``GET /informes/csv`` — the figures as a spreadsheet file: UTF-8 with a BOM, ``;`` and a decimal comma in
  comma countries (:mod:`scheduler.csvcells`), cells that could run as formulas neutralised.

The computations are :mod:`scheduler.kpis` (pure, with the definitions); this module gathers the
ledger's records, the segment rules in force and the cooperative's zone, and formats. Promises are
judged with the ledger's ``promise_grace_days`` setting, as ``ledger.promise_status`` judges them.
A period's figures are kept until the ledger changes (a board pack, then its CSV, cost one computation).
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, get_territory_currencies
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from scheduler import kpis
from scheduler.csvcells import format_amount, neutralise, spreadsheet_conventions
from scheduler.policy import load_policy
from scheduler.templates import format_money
from webui.access import role_required
from webui.reports_forms import PeriodForm
from webui.svg import Bar, bar_chart

ORDER = 70
bp = Blueprint("reports", __name__)
NAV = [("reports.index", "Informes", "lectura")]

_CACHE_SIZE = 4
_LOCALES = {"US": "en_US"}


def _services():
    return current_app.extensions["cobrador"]


# -- gathering ---------------------------------------------------------------------------------------------------------
def _policy():
    """The policy in force (its segment rules), or the defaults when the appliance handed none in."""
    services = _services()
    return services.policy() if services.policy is not None else load_policy(country=services.country,
                                                                              timezone=services.timezone)


def figures(period: kpis.Period, today) -> kpis.Report:
    """:func:`scheduler.kpis.build_report` over the ledger for ``period`` (kept until the ledger changes)."""
    services = _services()
    ledger = services.ledger
    policy = _policy()
    zone = ZoneInfo(services.timezone)
    stats = ledger.stats()
    key = (id(ledger), stats.get("seq"), stats.get("contacts"), period, today, policy.segments, services.timezone)
    cache = current_app.extensions.setdefault("cobrador.reports.cache", OrderedDict())
    found = cache.get(key)
    if found is not None:
        return found
    snapshot = ledger.snapshot()
    grace = int(ledger.settings.get("promise_grace_days") or 0)
    since = datetime.combine(period.start, time(0), tzinfo=zone)
    until = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=zone) + kpis.PROMISE_WINDOW
    events = ledger.contacts(since=since, until=until)
    segments = kpis.segments_of(snapshot.debtors, snapshot.loans, snapshot.payments, snapshot.promises,
                                policy.segments, today, grace_days=grace)
    found = kpis.build_report(loans=snapshot.loans, payments=snapshot.payments, promises=snapshot.promises,
                              events=events, period=period, today=today, zone=zone, segments=segments,
                              grace_days=grace)
    cache[key] = found
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return found


class Formats:
    """Money, rates, counts and days the cooperative's way (its country's separators and currency)."""

    def __init__(self, country: str, currency: str, today):
        self.country = country.upper()
        self.currency = currency or (get_territory_currencies(self.country, today) or ["USD"])[0]
        self.locale = _LOCALES.get(self.country, f"es_{self.country}")

    def money(self, amount) -> str:
        return format_money(Decimal(amount), self.currency, self.country)

    def rate(self, value) -> str:
        """``45,2 %`` (``—`` when there is nothing to divide by)."""
        if value is None:
            return "—"
        try:
            number = format_decimal(value * 100, "#,##0.0", locale=self.locale)
        except Exception:  # an unknown locale: Babel's neutral format
            number = format_decimal(value * 100, "#,##0.0", locale="es")
        return f"{number} %"

    def count(self, value: int) -> str:
        try:
            return format_decimal(value, "#,##0", locale=self.locale)
        except Exception:
            return str(value)

    @staticmethod
    def day(value) -> str:
        return value.strftime("%d/%m/%Y")


def _period_and_form():
    """``(form, period, today)``; ``period`` is ``None`` when the form has errors."""
    services = _services()
    today = services.now().astimezone(ZoneInfo(services.timezone)).date()
    form = PeriodForm(request.args)
    period = form.period(today) if form.validate() else None
    if period is not None:  # the form shows the days the figures are for
        form.desde.data, form.hasta.data = period.start.isoformat(), period.end.isoformat()
    return form, period, today


# -- charts ------------------------------------------------------------------------------------------------------------
def charts(report: kpis.Report, fmt: Formats) -> dict:
    """The page's bar charts (SVG markup by name)."""
    total = report.total
    money = total.collections
    out = {"money": bar_chart("grafico-dinero", _("Cobrado frente a vencido"), [
        Bar(_("Vencido en el periodo"), float(money.due), fmt.money(money.due), "muted"),
        Bar(_("Cobrado en el periodo"), float(money.collected), fmt.money(money.collected)),
        Bar(_("En mora al empezar"), float(money.overdue_at_start), fmt.money(money.overdue_at_start), "warn"),
        Bar(_("Recuperado de esa mora"), float(money.recovered), fmt.money(money.recovered)),
    ], description=_("Dinero del periodo:"))}
    kinds = {"al_dia": "", "1_30": "muted", "31_60": "warn", "61_90": "bad", "mas_90": "bad"}
    out["aging"] = bar_chart("grafico-mora", _("Saldo por días de atraso"), [
        Bar(_(row.bucket.label), float(row.outstanding), f"{fmt.money(row.outstanding)} ({fmt.rate(row.share)})",
            kinds[row.bucket.key]) for row in total.aging], description=_("Saldo de los préstamos activos:"))
    contacts, promises = total.contacts, total.promises
    out["rates"] = bar_chart("grafico-tasas", _("Resultados de los recordatorios"), [
        Bar(_("Entregados"), float(contacts.delivery_rate or 0), fmt.rate(contacts.delivery_rate)),
        Bar(_("Con respuesta"), float(contacts.reply_rate or 0), fmt.rate(contacts.reply_rate)),
        Bar(_("Con promesa de pago"), float(contacts.promise_rate or 0), fmt.rate(contacts.promise_rate)),
        Bar(_("Promesas cumplidas"), float(promises.kept_rate or 0), fmt.rate(promises.kept_rate)),
    ], maximum=1.0, description=_("Porcentajes sobre los recordatorios enviados:"))
    if report.segments:
        out["par"] = bar_chart("grafico-par", _("Cartera en riesgo (PAR30) por segmento"), [
            Bar(row.label, float(row.par30.ratio or 0), fmt.rate(row.par30.ratio), "bad") for row in report.segments
        ], maximum=1.0, description=_("Saldo con más de 30 días de atraso sobre el saldo del segmento:"))
    return out


def _context(report: kpis.Report, form: PeriodForm, period: kpis.Period, today) -> dict:
    fmt = Formats(_services().country, report.currency, today)
    args = {"desde": period.start.isoformat(), "hasta": period.end.isoformat()}
    return {"report": report, "form": form, "period": period, "fmt": fmt, "charts": charts(report, fmt),
            "today": today, "generated": _services().now().astimezone(ZoneInfo(_services().timezone)),
            "board_url": url_for("reports.board", **args), "csv_url": url_for("reports.export", **args),
            "page_url": url_for("reports.index", **args)}


def _bad_period(form: PeriodForm, template: str):
    return render_template(template, form=form, report=None), 400


@bp.get("/informes")
@role_required("lectura")
def index():
    """The figures of the period asked for (the last 30 days by default)."""
    form, period, today = _period_and_form()
    if period is None:
        return _bad_period(form, "reports/index.html")
    report = figures(period, today)
    return render_template("reports/index.html", **_context(report, form, period, today))


@bp.get("/informes/junta")
@role_required("lectura")
def board():
    """The board pack: the period's figures laid out for paper, with a print button."""
    form, period, today = _period_and_form()
    if period is None:
        return _bad_period(form, "reports/index.html")
    report = figures(period, today)
    return render_template("reports/board.html", **_context(report, form, period, today))


# -- CSV ---------------------------------------------------------------------------------------------------------------
def csv_rows(report: kpis.Report, fmt: Formats, decimal_mark: str, cooperative: str) -> list[list[str]]:
    """The figures as spreadsheet rows (text cells neutralised; amounts and percentages with ``decimal_mark``
    and no thousands separator)."""
    def amount(value) -> str:
        value = Decimal(value)
        exponent = Decimal(1) if value == value.to_integral_value() else Decimal("0.01")
        return format_amount(value.quantize(exponent, rounding=ROUND_HALF_UP), decimal_mark)

    def rate(value) -> str:
        if value is None:
            return ""
        return format_amount((value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), decimal_mark)

    def text(value) -> str:
        return neutralise(value)

    period = report.period
    rows = [[text(_("Informe de cobranza")), text(cooperative)],
            [text(_("Periodo")), fmt.day(period.start), fmt.day(period.end)],
            [text(_("Saldos y atrasos al")), fmt.day(report.as_of)],
            [text(_("Moneda")), text(fmt.currency)],
            []]
    rows.append([text(h) for h in (
        _("Grupo"), _("Tipo"), _("Préstamos activos"), _("Saldo"), _("PAR30 (%)"), _("PAR90 (%)"),
        _("Vencido en el periodo"), _("Cobrado en el periodo"), _("Cobrado / vencido (%)"), _("En mora al empezar"),
        _("Recuperado"), _("Recuperación (%)"), _("Recordatorios enviados"), _("Entregados"), _("Entrega (%)"),
        _("Con respuesta"), _("Respuesta (%)"), _("Con promesa"), _("Promesa (%)"), _("Promesas"),
        _("Cumplidas"), _("Incumplidas"), _("Pendientes"), _("Cumplidas (%)"))])
    groups = [(report.total, _("total"))] + [(r, _("segmento")) for r in report.segments] + \
             [(r, _("plantilla")) for r in report.templates]
    for row, kind in groups:
        c, p, money = row.contacts, row.promises, row.collections
        label = _("Total") if row is report.total else (row.label or _("(sin plantilla)"))
        cells = [text(label), text(kind)]
        if money is not None:
            cells += [str(row.loans), amount(row.par30.outstanding), rate(row.par30.ratio), rate(row.par90.ratio),
                      amount(money.due), amount(money.collected), rate(money.collection_rate),
                      amount(money.overdue_at_start), amount(money.recovered), rate(money.recovery_rate)]
        else:
            cells += [""] * 10
        cells += [str(c.sent), str(c.delivered), rate(c.delivery_rate), str(c.replied), rate(c.reply_rate),
                  str(c.promised), rate(c.promise_rate), str(p.made), str(p.kept), str(p.broken), str(p.pending),
                  rate(p.kept_rate)]
        rows.append(cells)
    rows.append([])
    rows.append([text(h) for h in (_("Días de atraso"), _("Préstamos activos"), _("Saldo"), _("% del saldo"))])
    for bucket in report.total.aging:
        rows.append([text(_(bucket.bucket.label)), str(bucket.loans), amount(bucket.outstanding), rate(bucket.share)])
    return rows


@bp.get("/informes/csv")
@role_required("lectura")
def export():
    """The period's figures as a CSV file for a spreadsheet."""
    form, period, today = _period_and_form()
    if period is None:
        return _bad_period(form, "reports/index.html")
    report = figures(period, today)
    services = _services()
    fmt = Formats(services.country, report.currency, today)
    delimiter, decimal_mark = spreadsheet_conventions(services.country)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(csv_rows(report, fmt, decimal_mark, services.cooperative_name()))
    name = f"informe-cobranza-{period.start.isoformat()}-a-{period.end.isoformat()}.csv"
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
