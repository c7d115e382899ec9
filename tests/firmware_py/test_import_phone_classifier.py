"""The importer's compiled phone classifier answers exactly what ``phonenumbers.number_type`` answers.

``parsing._classifier(code)`` replaces ``number_type`` in the national fast path (it compiles the
region's patterns once instead of looking them up per number). These differential tests hold it to the
library for every region's example numbers of every type, numbers near them (a digit changed, one more,
one less) and for calling codes shared by several regions (where it defers to the library).
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.importer.parsing import _classifier

_TYPES = [t for t in vars(phonenumbers.PhoneNumberType).values() if isinstance(t, int)]


def _library(code: int, digits: str) -> bool | None:
    kind = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=code, national_number=int(digits)))
    return None if kind == phonenumbers.PhoneNumberType.UNKNOWN else kind != phonenumbers.PhoneNumberType.FIXED_LINE


def _examples(region: str) -> list[str]:
    out = []
    for kind in _TYPES:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None and not example.italian_leading_zero:
            out.append(str(example.national_number))
    return out


def _near(nsn: str) -> list[str]:
    variants = {nsn, nsn + "1", nsn[:-1] or nsn}
    for i in range(len(nsn)):
        for d in "0159":
            variants.add(nsn[:i] + d + nsn[i + 1:])
    return [v for v in variants if v and v[0] != "0"]  # the fast path never sees a leading zero


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_classifier_agrees_with_number_type_near_every_example(region):
    code = phonenumbers.country_code_for_region(region)
    classify = _classifier(code)
    for nsn in _examples(region):
        for digits in _near(nsn):
            assert classify(digits) == _library(code, digits), (region, digits)


@settings(max_examples=400)
@given(st.sampled_from(["CO", "MX", "PE", "EC", "GT", "BO", "AR", "CL", "SV", "HN", "NI", "PY", "UY", "VE", "DO",
                        "CR", "PA", "ES", "US", "BR", "GB", "RU", "IT"]),
       st.integers(1, 10 ** 12 - 1))
def test_property_classifier_agrees_with_number_type(region, number):
    code = phonenumbers.country_code_for_region(region)
    digits = str(number)
    assert _classifier(code)(digits) == _library(code, digits)


def test_known_answers():
    assert _classifier(57)("3001234567") is True  # Colombian mobile
    assert _classifier(57)("6012345678") is False  # Bogotá landline
    assert _classifier(57)("12345") is None
    assert _classifier(1)("2015550123") is not None  # +1: several regions, the library decides
