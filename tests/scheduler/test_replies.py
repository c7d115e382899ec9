"""What debtors' SMS replies mean: a table of real-looking replies, fuzzing, the cooperative's words, the CLI.

``today`` is Thursday 26 November 2026 throughout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.errors import PolicyError
from scheduler.replies import (DEFAULT_WORDS, INTENTS, Reply, ReplyWords, _understand, understand,
                               words_from_config)

TODAY = date(2026, 11, 26)  # a Thursday
ROOT = Path(__file__).resolve().parents[2]

D = date.fromisoformat

# (id, text, intent, amount, date)
CASES = [
    # balance
    ("saldo-caps", "SALDO", "balance", None, None),
    ("saldo-porfa", "saldo porfa", "balance", None, None),
    ("mi-saldo", "Mi saldo?", "balance", None, None),
    ("cuanto-debo-accents", "¿Cuánto debo?", "balance", None, None),
    ("cuanto-debo-plain", "cuanto debo", "balance", None, None),
    ("cuanto-le-debo-greeting", "Hola buenas tardes, cuánto es lo que le debo?", "balance", None, None),
    ("cuanto-falta-typo", "kuanto me falta x pagar", "balance", None, None),
    ("saldo-typo", "sldo", "balance", None, None),
    ("saldo-typo-letter", "saldp porfa", "balance", None, None),
    ("balance-beats-dateless-promise", "voy a pagar, cuánto debo?", "balance", None, None),
    ("cuanto-pago", "cuanto pago este mes?", "balance", None, None),
    # payment claims
    ("pague-caps", "PAGUÉ", "payment_claim", None, None),
    ("pague-no-accent", "pague", "payment_claim", None, None),
    ("pago-amount-keyword", "PAGO 50000", "payment_claim", Decimal("50000"), None),
    ("ya-pague", "ya pagué", "payment_claim", None, None),
    ("ya-pague-dots", "ya pague 50.000", "payment_claim", Decimal("50000"), None),
    ("pague-comma-thousands", "Pague 50,000", "payment_claim", Decimal("50000"), None),
    ("pague-mil", "pagué 50 mil", "payment_claim", Decimal("50000"), None),
    ("pague-dollar", "pague $50.000", "payment_claim", Decimal("50000"), None),
    ("pague-typo-page", "pagé", "payment_claim", None, None),
    ("consigne", "consigné", "payment_claim", None, None),
    ("deposite-millions", "deposité 1.200.000", "payment_claim", Decimal("1200000"), None),
    ("hice-el-pago-nequi", "Buenas tardes, ya hice el pago de $50.000 por nequi", "payment_claim",
     Decimal("50000"), None),
    ("consigne-ayer", "consigné ayer 120.000", "payment_claim", Decimal("120000"), D("2026-11-25")),
    ("pague-el-viernes-past", "ya pagué el viernes", "payment_claim", None, D("2026-11-20")),
    ("pague-el-20-past", "pagué el 20", "payment_claim", None, D("2026-11-20")),
    ("viernes-pasado", "el viernes pasado consigne 100.000", "payment_claim", Decimal("100000"), D("2026-11-20")),
    ("ya-cancele", "ya cancelé la cuota", "payment_claim", None, None),
    ("ya-no-debo-nada", "ya no debo nada", "payment_claim", None, None),
    ("paz-y-salvo", "Ya estoy a paz y salvo", "payment_claim", None, None),
    ("al-dia", "ya estoy al dia con la cooperativa", "payment_claim", None, None),
    ("no-ya-pague", "no ya pague ayer", "payment_claim", None, D("2026-11-25")),
    ("pague-no-mas-colombian-only", "pague 20 mil no mas", "payment_claim", Decimal("20000"), None),
    ("cedula-not-amount", "mi cedula es 12345678, ya pague", "payment_claim", None, None),
    ("pague-cuotas-count", "pagué 2 cuotas", "payment_claim", None, None),
    ("pago-decimal-comma", "pago 120.000,50", "payment_claim", Decimal("120000.50"), None),
    ("transferi-k", "le transferí 80k 🙏", "payment_claim", Decimal("80000"), None),
    ("lucas", "ya le mandé el pago, 30 lucas", "payment_claim", Decimal("30000"), None),
    ("words-amount", "ya pague cincuenta mil pesos", "payment_claim", Decimal("50000"), None),
    ("pago-realizado", "Pago realizado. Comprobante 77812", "payment_claim", None, None),
    ("comprobante-sent", "ya le envié el comprobante por whatsapp", "payment_claim", None, None),
    ("efecty-ayer", "Pague ayer en efecty 45.000", "payment_claim", Decimal("45000"), D("2026-11-25")),
    ("third-person", "mi esposo ya pagó la cuota", "payment_claim", None, None),
    ("nequi-lucas", "Le giré por Nequi 60 lucas", "payment_claim", Decimal("60000"), None),
    ("disputes-debt", "de que es esta deuda? yo no debo nada", "payment_claim", None, None),
    ("abono-keyword", "Abono 30.000", "payment_claim", Decimal("30000"), None),
    # promises
    ("promesa-slash", "PROMESA 15/12", "promise", None, D("2026-12-15")),
    ("promesa-dash", "promesa 15-12", "promise", None, D("2026-12-15")),
    ("promesa-full-year", "PROMESA 15/12/2026", "promise", None, D("2026-12-15")),
    ("promesa-short-year", "promesa 15-12-26", "promise", None, D("2026-12-15")),
    ("promesa-typo", "promeza 20/12", "promise", None, D("2026-12-20")),
    ("promesa-january-wraps", "promesa 15/01", "promise", None, D("2027-01-15")),
    ("pago-el-fecha", "PAGO EL 15/12", "promise", None, D("2026-12-15")),
    ("pago-el-viernes", "pago el viernes", "promise", None, D("2026-11-27")),
    ("pago-el-jueves-next-week", "pago el jueves", "promise", None, D("2026-12-03")),
    ("le-pago-manana", "le pago mañana", "promise", None, D("2026-11-27")),
    ("pasado-manana", "le pago pasado mañana", "promise", None, D("2026-11-28")),
    ("hoy", "hoy le consigno", "promise", None, D("2026-11-26")),
    ("el-15-pago", "el 15 pago", "promise", None, D("2026-12-15")),
    ("puedo-pagar-el-20", "puedo pagar el 20", "promise", None, D("2026-12-20")),
    ("amount-and-weekday", "pago 50 mil el viernes", "promise", Decimal("50000"), D("2026-11-27")),
    ("de-diciembre", "pago el 15 de diciembre", "promise", None, D("2026-12-15")),
    ("dic-abbrev", "le pago el 5 d dic porfa", "promise", None, D("2026-12-05")),
    ("fin-de-mes", "fin de mes pago", "promise", None, D("2026-11-30")),
    ("quincena", "le abono en la quincena", "promise", None, D("2026-11-30")),
    ("en-8-dias", "pago en 8 días", "promise", None, D("2026-12-04")),
    ("semana-que-viene", "la semana que viene le pago", "promise", None, D("2026-11-30")),
    ("morning-is-not-tomorrow", "hoy en la mañana le consigno 80 mil", "promise", Decimal("80000"),
     D("2026-11-26")),
    ("manana-en-la-manana", "mañana en la mañana le consigno 80 mil", "promise", Decimal("80000"),
     D("2026-11-27")),
    ("millones-january", "te pago 1,5 millones el 15/01", "promise", Decimal("1500000"), D("2027-01-15")),
    ("rest-on-friday", "ya pagué 20 mil, el resto el viernes", "promise", None, D("2026-11-27")),
    ("two-amounts", "ya pague 20 mil y el viernes pago 30 mil", "promise", Decimal("30000"), D("2026-11-27")),
    ("negation-then-promise", "todavia no pago pero pago el sabado", "promise", None, D("2026-11-28")),
    ("q-xq-abbrev", "q pena xq no tengo plata, le pago la otra semana", "promise", None, D("2026-11-30")),
    ("weekday-typo", "le pago el biernes", "promise", None, D("2026-11-27")),
    ("at-3pm-not-amount", "pago el lunes a las 3 pm", "promise", None, D("2026-11-30")),
    ("day-word", "le consigno el quince", "promise", None, D("2026-12-15")),
    ("past-promise-unusual", "pago el 15/12/2025", "promise", None, D("2025-12-15")),
    ("far-promise-unusual", "pago el 15/06/2027", "promise", None, D("2027-06-15")),
    ("impossible-date", "pago el 31/02", "promise", None, None),
    ("dateless-promise", "le pago cuanto antes", "promise", None, None),
    ("unaccented-pague-future", "pague el 15/12", "promise", None, D("2026-12-15")),
    ("llevo-la-cuota", "Buenos días señorita, el sábado le llevo la cuota", "promise", None, D("2026-11-28")),
    ("sin-falta-date-only", "mañana sin falta", "promise", None, D("2026-11-27")),
    ("date-only-reply", "el viernes", "promise", None, D("2026-11-27")),
    ("date-only-entonces", "Bueno, el viernes entonces", "promise", None, D("2026-11-27")),
    ("date-only-with-amount", "15/12 50 mil", "promise", Decimal("50000"), D("2026-12-15")),
    ("ordinal-day", "el 1ro de diciembre le pago", "promise", None, D("2026-12-01")),
    ("ahorita", "ahorita le consigno", "promise", None, D("2026-11-26")),
    ("abonare", "abonaré el viernes", "promise", None, D("2026-11-27")),
    ("day-5-abono", "El día 5 abono", "promise", None, D("2026-12-05")),
    ("hasta-el-10-de-diciembre", "hasta el 10 de diciembre le pago", "promise", None, D("2026-12-10")),
    ("cancelo-is-pay", "el lunes le cancelo", "promise", None, D("2026-11-30")),
    ("pagarle", "voy a pagarle el viernes", "promise", None, D("2026-11-27")),
    ("dic-after-day", "pago el 15 dic", "promise", None, D("2026-12-15")),
    ("month-first", "pago diciembre 15", "promise", None, D("2026-12-15")),
    ("iso-date", "promesa 2026-12-15", "promise", None, D("2026-12-15")),
    ("fin-de-semana", "pago el fin de semana", "promise", None, D("2026-11-28")),
    ("de-este-mes", "le pago el 30 de este mes", "promise", None, D("2026-11-30")),
    ("en-una-semana", "pago en una semana", "promise", None, D("2026-12-03")),
    ("leap-day-next", "pago el 29/02", "promise", None, D("2028-02-29")),
    ("hace-3-dias", "pagué hace 3 días", "payment_claim", None, D("2026-11-23")),
    ("ya-pague-keeps-claim", "ya pague 50 mil el 15/12", "payment_claim", Decimal("50000"), D("2025-12-15")),
    # opt-out
    ("baja", "BAJA", "opt_out", None, None),
    ("baja-wins", "BAJA ya pagué", "opt_out", None, None),
    ("stop", "STOP", "opt_out", None, None),
    ("stop-lower", "stop", "opt_out", None, None),
    ("alto", "ALTO!!", "opt_out", None, None),
    ("no-mas-accent", "NO MÁS", "opt_out", None, None),
    ("no-mas-then-claim", "No mas, ya pague", "opt_out", None, None),
    ("no-me-manden", "no me manden más mensajes", "opt_out", None, None),
    ("no-me-escriban-wins", "Ya cancele todo, no me escriban mas", "opt_out", None, None),
    ("cancelar-mensajes", "cancelar mensajes", "opt_out", None, None),
    ("salir", "Salir", "opt_out", None, None),
    ("salir-de-la-lista", "quiero salir de la lista", "opt_out", None, None),
    ("dejen-de-escribirme", "Dejen de escribirme!!! 😡", "opt_out", None, None),
    ("tcpa-quit", "QUIT", "opt_out", None, None),
    ("tcpa-end", "end", "opt_out", None, None),
    ("tcpa-cancel", "CANCEL", "opt_out", None, None),
    ("tcpa-unsubscribe-typo", "unsuscribe", "opt_out", None, None),
    ("html-baja", "<b>BAJA</b>", "opt_out", None, None),
    ("opt-out-beats-promise", "pago el viernes pero no me llamen mas", "opt_out", None, None),
    ("no-quiero-recibir", "Hola, ya no quiero recibir mensajes", "opt_out", None, None),
    ("saquenme", "sáquenme de su lista", "opt_out", None, None),
    ("ya-basta", "Ya basta", "opt_out", None, None),
    ("no-mas-mensajes-porfa", "No más mensajes porfa", "opt_out", None, None),
    # help
    ("ayuda", "AYUDA", "help", None, None),
    ("ayuda-porfa", "ayuda porfa?", "help", None, None),
    ("help-en", "help", "help", None, None),
    ("question-mark", "?", "help", None, None),
    ("question-marks", " ?? ", "help", None, None),
    # other
    ("no-puedo-pagar", "no puedo pagar", "other", None, None),
    ("no-tengo-plata", "no tengo plata", "other", None, None),
    ("no-he-pagado", "no he pagado todavía", "other", None, None),
    ("alto-in-sentence", "el interes es muy alto", "other", None, None),
    ("algo-is-not-alto", "algo", "other", None, None),
    ("paso-is-not-pago", "paso", "other", None, None),
    ("salir-a-pagar", "voy a salir a pagar mañana", "promise", None, D("2026-11-27")),
    ("dios-le-pague", "Dios le pague señorita", "other", None, None),
    ("cuando-is-not-cuanto", "cuando vienen?", "other", None, None),
    ("where-to-pay", "donde hago el pago?", "other", None, None),
    ("receipt-not-arrived", "no me llego el recibo de pago", "other", None, None),
    ("help-in-sentence", "ayúdeme que no puedo pagar este mes", "other", None, None),
    ("phone-credit", "no tengo saldo para llamar", "other", None, None),
    ("wrong-number", "número equivocado, no conozco a esa persona", "other", None, None),
    ("greeting", "Hola", "other", None, None),
    ("thanks", "ok gracias", "other", None, None),
    ("extension-request", "Me da plazo hasta el 10?", "other", None, None),
    ("who-writes", "Quien me escribe?", "other", None, None),
    ("thumbs-up", "👍👍", "other", None, None),
    ("empty", "", "other", None, None),
    ("formula", "=HYPERLINK(\"http://x.y\",\"clic\")", "other", None, None),
]


@pytest.mark.parametrize(("text", "intent", "amount", "day"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reply_table(text, intent, amount, day):
    reply = understand(text, today=TODAY)
    assert (reply.intent, reply.amount, reply.date) == (intent, amount, day), reply.reason
    assert reply.reason


def test_table_is_large_and_ids_unique():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("text", [
    "el interes es muy alto", "no tengo nada", "cuando pasan a cobrar", "mañana salgo temprano", "salud",
    "vienes el sabado?", "voy junto con mi hermana", "el caldo esta listo", "apague el celular",
    "le pegue al perro", "me voy a pasear", "que pena con usted", "marco no esta", "estoy enfermo",
    "bien y usted", "quien es?", "todo bien", "dios le pague", "algo paso", "el paso",
])
def test_ordinary_words_are_not_corrected_into_keywords(text):
    reply = understand(text, today=TODAY)
    assert reply.intent in ("other", "promise"), (text, reply)
    assert reply.intent != "opt_out" and reply.intent != "balance"


@pytest.mark.parametrize(("text", "intent"), [
    ("pagé", "payment_claim"), ("pagué", "payment_claim"), ("PAGUE", "payment_claim"), ("paguee", "payment_claim"),
    ("saldp", "balance"), ("saaldo", "balance"), ("sladp", "other"), ("promeza", "promise"),
    ("unsuscribe", "opt_out"), ("stpo", "other"), ("bja", "other"), ("algo", "other"), ("paso", "other"),
    ("ayudaa", "help"), ("ayda", "help"), ("HEEELP", "help"), ("Stoooop", "opt_out"),
])
def test_one_typo_in_long_words_short_words_exact(text, intent):
    assert understand(text, today=TODAY).intent == intent


def test_reasons_name_the_keyword_and_the_date():
    assert understand("BAJA", today=TODAY).reason == "palabra clave BAJA"
    reply = understand("pago el viernes", today=TODAY)
    assert "fecha «el viernes» = 27/11/2026" in reply.reason
    assert reply.matched == "pago" and reply.valid_date
    assert "50.000" in understand("ya pague 50 mil", today=TODAY).reason
    both = understand("BAJA ya pagué", today=TODAY)
    assert both.matched == "BAJA" and "prevalece" in both.reason


def test_matched_is_what_the_debtor_wrote():
    assert understand("pagé 20 mil", today=TODAY).matched == "pagé"
    assert understand("No me manden MÁS!!", today=TODAY).matched == "No me manden MÁS"


def test_unusual_dates_are_kept_but_not_valid():
    past = understand("pago el 15/12/2025", today=TODAY)
    far = understand("pago el 15/06/2027", today=TODAY)
    assert not past.valid_date and "ya pasó" in past.reason
    assert not far.valid_date and "90 días" in far.reason
    missing = understand("pago el 31/02", today=TODAY)
    assert missing.date is None and not missing.valid_date and "no existe" in missing.reason


def test_decimals_are_one_or_two_digits_after_the_separator():
    assert understand("pago 50,5", today=TODAY).amount == Decimal("50.50")
    assert understand("pago 50.5", today=TODAY).amount == Decimal("50.50")
    assert understand("pago 50,5 mil", today=TODAY).amount == Decimal("50500")
    assert understand("pago 120,000.50", today=TODAY).amount == Decimal("120000.50")
    assert understand("pago 5.0000", today=TODAY).amount is None


def test_date_without_year_in_december_is_next_january():
    assert understand("promesa 15/01", today=date(2026, 12, 20)).date == date(2027, 1, 15)
    assert understand("pago el 5", today=date(2026, 12, 20)).date == date(2027, 1, 5)
    assert understand("fin de mes pago", today=date(2027, 2, 3)).date == date(2027, 2, 28)


def test_to_dict_is_json_ready():
    data = understand("te pago 1,5 millones el 15/01", today=TODAY).to_dict()
    assert data == {"intent": "promise", "amount": "1500000", "date": "2027-01-15", "valid_date": True,
                    "matched": "te pago", "reason": data["reason"]}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert understand("pago 120.000,50", today=TODAY).to_dict()["amount"] == "120000.50"


def test_reply_is_frozen():
    reply = understand("SALDO", today=TODAY)
    with pytest.raises(AttributeError):
        reply.intent = "other"  # type: ignore[misc]
    assert isinstance(reply, Reply)


def test_today_must_be_a_date():
    with pytest.raises(TypeError):
        understand("SALDO", today="2026-11-26")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# fuzzing

KEYWORDS = ["BAJA", "pagué", "pago", "el", "viernes", "15/12", "50.000", "mil", "$", "?", "no", "más", "saldo",
            "cuánto", "debo", "promesa", "mañana", "de", "diciembre", "fin", "mes", "ya", "1,5", "millones",
            "=HYPERLINK(", ")", "<b>", "</b>", "😡", "🙏", "\n", "31/02", "9999-12-31", "0001-01-01", "99/99/99",
            "el 31", "quincena", "hace 400 días", "en 999 días", "q", "xq", "porfa", "ALTO", "salir"]
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=1500)
keyword_soup = st.lists(st.one_of(st.sampled_from(KEYWORDS), st.text(max_size=6)), max_size=60).map(" ".join)
days = st.one_of(st.just(TODAY), st.dates(), st.sampled_from([date.min, date.max, date(9999, 12, 1)]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(any_text, keyword_soup), today=days)
def test_never_raises_closed_intents_and_deterministic(text, today):
    reply = _understand(text, today, DEFAULT_WORDS)  # the rules themselves, without the safety net
    assert reply.intent in INTENTS
    assert understand(text, today=today) == reply
    assert reply.matched in text
    assert reply.amount is None or reply.amount > 0
    assert not reply.valid_date or reply.date is not None
    json.dumps(reply.to_dict(), ensure_ascii=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(any_text, keyword_soup), today=days)
def test_an_opt_out_word_anywhere_always_wins(text, today):
    assert understand(text + "\nBAJA", today=today).intent == "opt_out"
    assert understand("STOP. " + text, today=today).intent == "opt_out"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=keyword_soup, today=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)))
def test_valid_dates_are_inside_the_window(text, today):
    reply = understand(text, today=today)
    if reply.valid_date:
        ahead = (reply.date - today).days
        assert (0 <= ahead <= 90) if reply.intent == "promise" else (-90 <= ahead <= 0)
        assert reply.intent in ("promise", "payment_claim")
    if reply.intent not in ("promise", "payment_claim"):
        assert reply.amount is None and reply.date is None


letters = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Lo", "Mn")), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phrases=st.dictionaries(st.sampled_from(["opt_out", "promise", "payment_claim", "balance", "help"]),
                               st.lists(st.lists(letters, min_size=1, max_size=3).map(" ".join), max_size=3),
                               max_size=5),
       text=st.one_of(any_text, keyword_soup))
def test_cooperative_words_never_break_understanding(phrases, text):
    try:
        words = words_from_config(phrases)
    except PolicyError as error:
        assert error.key.startswith("replies.")
        return
    reply = _understand(text, TODAY, words)
    assert reply.intent in INTENTS
    for intent, items in words.__dict__.items():
        for item in items:
            assert _understand(item, TODAY, words).intent in (intent, "opt_out")


def test_long_and_odd_inputs():
    long_text = "hola " * 400 + "BAJA"
    assert understand(long_text, today=TODAY).intent == "opt_out"
    for text in ["=HYPERLINK(\"http://evil\",\"PAGUE\")", "<script>alert(1)</script>", "\x00\x01\ud800",
                 "٣٣/١٢", "１５/１２ promesa", "🙂" * 2000, "9" * 5000, "pago " + "1." * 3000, None, b"BAJA"]:
        reply = understand(text, today=TODAY)  # type: ignore[arg-type]
        assert reply.intent in INTENTS
    assert understand("１５/１２ promesa", today=TODAY).date == date(2026, 12, 15)
    assert understand(b"BAJA", today=TODAY).intent == "opt_out"  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the cooperative's words


def test_words_from_config_adds_local_words():
    words = words_from_config({"opt_out": ["chau", "ndaipotái"], "balance": ["cuanto falta"],
                               "payment_claim": ["ya cumplí"], "promise": ["kunan pachapi"], "help": ["socorro"]})
    assert understand("chau", today=TODAY, words=words).intent == "opt_out"
    assert understand("NDAIPOTAI", today=TODAY, words=words).intent == "opt_out"
    assert understand("ndaipotá", today=TODAY, words=words).intent == "opt_out"  # one typo in a long word
    assert understand("chau", today=TODAY).intent == "other"
    assert understand("Cuánto falta?", today=TODAY, words=words).intent == "balance"
    claim = understand("ya cumpli 20 mil", today=TODAY, words=words)
    assert (claim.intent, claim.amount) == ("payment_claim", Decimal("20000"))
    assert "cooperativa" in claim.reason
    promise = understand("kunan pachapi el viernes", today=TODAY, words=words)
    assert (promise.intent, promise.date) == ("promise", date(2026, 11, 27))
    assert understand("socorro", today=TODAY, words=words).intent == "help"
    assert words_from_config(None) == DEFAULT_WORDS == words_from_config({})


@pytest.mark.parametrize(("raw", "key"), [
    ({"otro": ["x"]}, "replies.otro"),
    ({"other": ["x"]}, "replies.other"),
    ({"opt_out": "chau"}, "replies.opt_out"),
    ({"balance": 3}, "replies.balance"),
    ({"opt_out": ["chau", 5]}, "replies.opt_out[1]"),
    ({"help": [None]}, "replies.help[0]"),
    ({"opt_out": ["!!!"]}, "replies.opt_out[0]"),
    ({"promise": ["123"]}, "replies.promise[0]"),
    ("opt_out", "replies"),
    ({"opt_out": ["no"]}, "replies.opt_out[0]"),
    ({"help": ["q"]}, "replies.help[0]"),
    ({"balance": ["baja"]}, "replies.balance[0]"),
    ({"promise": ["STOP"]}, "replies.promise[0]"),
    ({"promise": ["kunan"], "payment_claim": ["Kunán"]}, "replies.payment_claim[0]"),
])
def test_words_config_errors_name_the_key(raw, key):
    with pytest.raises(PolicyError) as info:
        words_from_config(raw)
    assert info.value.key == key
    assert f"«{key}" in str(info.value)


def test_reply_words_is_frozen_and_hashable():
    words = ReplyWords(opt_out=["chau"])  # type: ignore[arg-type]
    assert words.opt_out == ("chau",)
    assert hash(words) == hash(ReplyWords(opt_out=("chau",)))
    with pytest.raises(PolicyError):
        ReplyWords(balance=(1,))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# command line


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scheduler.replies", *args], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", input=stdin, timeout=60)


def test_cli_prints_one_json_object():
    result = run_cli("PROMESA 15/12", "--today", "2026-11-26")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["intent"] == "promise" and data["amount"] is None and data["date"] == "2026-12-15"
    assert set(data) == {"intent", "amount", "date", "valid_date", "matched", "reason"}
    assert len(result.stdout.strip().splitlines()) == 1


def test_cli_words_are_joined_and_today_defaults_to_the_clock():
    result = run_cli("ya", "pagué", "50", "mil")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["intent"], data["amount"]) == ("payment_claim", "50000")


def test_cli_reads_stdin_and_config(tmp_path):
    config = tmp_path / "cobrador.toml"
    config.write_text('[replies]\nopt_out = ["chau"]\n', encoding="utf-8")
    result = run_cli("-", "--today", "2026-11-26", "--config", str(config), stdin="Chau!\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"] == "opt_out"
    config.write_text('[replies]\nchau = ["x"]\n', encoding="utf-8")
    bad = run_cli("hola", "--config", str(config))
    assert bad.returncode == 2 and "replies.chau" in bad.stderr


def test_cli_refuses_a_bad_date():
    result = run_cli("SALDO", "--today", "26/11/2026")
    assert result.returncode == 2
    assert "AAAA-MM-DD" in result.stderr


@pytest.mark.parametrize("text,expected", [
    ("PROMESA 1/12", date(2026, 12, 1)),
    ("promesa 9/12", date(2026, 12, 9)),
    ("pago el 5/12", date(2026, 12, 5)),
    ("PROMESA 1-12", date(2026, 12, 1)),
], ids=["one-digit-day", "nine-slash-twelve", "pago-el", "dash"])
def test_four_character_dates_are_day_and_month_not_iso(text, expected):
    reply = understand(text, today=date(2026, 11, 26))
    assert (reply.intent, reply.date) == ("promise", expected)


def test_rapidfuzz_is_imported_only_for_a_reply_that_needs_a_typo_corrected():
    """An exact keyword never loads rapidfuzz (several MB of RSS); a misspelt one loads it and is understood."""
    code = textwrap.dedent("""
        import sys
        from datetime import date
        from scheduler.replies import understand
        today = date(2026, 11, 26)
        print(understand("SALDO", today=today).intent, "rapidfuzz" in sys.modules)
        print(understand("SALDDO", today=today).intent, "rapidfuzz" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["balance False", "balance True"]
