"""The balance parser (scheduler.balance) on operators' USSD answers as Latin American SIMs print them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scheduler.balance import Balance, is_low, parse_balance, to_decimal


@pytest.mark.parametrize("text, amount, currency", [
    ("Su saldo es $1.250,50", "1250.50", "$"),
    ("Saldo: S/ 3.20", "3.20", "PEN"),
    ("Tu saldo principal es de 2500 pesos vence 15/12", "2500", "$"),
    ("Saldo recarga: $0.00. Saldo bono: $5.000 vence 01/12/2026", "0.00", "$"),
    ("Su saldo es $1.234. Vence el 30/11.", "1234", "$"),
    ("Claro: Tu saldo es $ 12,345.67 y tienes 300MB hasta el 15-12-2026 23:59", "12345.67", "$"),
    ("Movistar: Saldo S/.15.50. Consulta *515# gratis", "15.50", "PEN"),
    ("Tigo: Tienes Bs. 12,50 de saldo y 100 min", "12.50", "BOB"),
    ("TIGO PY: Tu saldo es Gs. 25.000. Vigencia 30 dias", "25000", "PYG"),
    ("Entel: Saldo $3.500 vigente hasta 31/12. Llama al 103", "3500", "$"),
    ("Bitel: Tienes saldo de S/ 0.50. Recarga y gana 2GB", "0.50", "PEN"),
    ("WOM: Tu saldo es de $1.250.000", "1250000", "$"),
    ("Tu credito disponible es Q.45.75 al 10/10", "45.75", "GTQ"),
    ("Saldo principal 1.500,00 pesos; 50 SMS; vence 2026-12-15", "1500.00", "$"),
    ("Usted no tiene saldo. Recargue en puntos autorizados", "0", None),
    ("Saldo insuficiente para completar la operación", "0", None),
    ("SALDO: US$ 4.10", "4.10", "USD"),
    ("Su saldo es 7,5 soles", "7.5", "PEN"),
])
def test_operator_answers(text, amount, currency):
    balance = parse_balance(text)
    assert balance.amount == Decimal(amount), text
    assert balance.currency == currency
    assert balance.raw == text and balance.understood


@pytest.mark.parametrize("text", [
    "Servicio no disponible. Intente mas tarde",
    "1. Consultar saldo\n2. Paquetes\n3. Recargas *611#",
    "Bienvenido a Claro. Tienes 500MB y 100 min hasta el 15/12",
    "",
    "Llama al +573001234567 para tu saldo",
])
def test_answers_without_a_balance_are_not_understood(text):
    balance = parse_balance(text)
    assert balance == Balance(None, None, text) and not balance.understood


def test_the_country_names_the_peso():
    assert parse_balance("Su saldo es $1.250,50", country="CO").currency == "COP"
    assert parse_balance("Saldo $80.00", country="MX").currency == "MXN"
    assert parse_balance("Saldo: S/ 3.20", country="CO").currency == "PEN"   # a visible code wins


@pytest.mark.parametrize("number, value", [
    ("1.250,50", "1250.50"), ("1,250.50", "1250.50"), ("3.20", "3.20"), ("1.234", "1234"), ("1,5", "1.5"),
    ("1.234.567", "1234567"), ("2500", "2500"), ("0.00", "0.00"),
])
def test_separators(number, value):
    assert to_decimal(number) == Decimal(value)


@pytest.mark.parametrize("number", ["1.2.3", "12.34.567", "1,23.456,7"])
def test_shapes_that_are_no_amount(number):
    assert to_decimal(number) is None


def test_is_low():
    assert is_low(parse_balance("Saldo $500"), 1000)
    assert not is_low(parse_balance("Saldo $5.000"), 1000)
    assert not is_low(parse_balance("Servicio no disponible"), 1000)    # not understood: not claimed low
    assert not is_low(parse_balance("Saldo $0"), 0)                     # no threshold configured
    assert parse_balance("Saldo S/ 3.20").as_dict() == {"amount": "3.20", "currency": "PEN",
                                                        "raw": "Saldo S/ 3.20", "understood": True}
