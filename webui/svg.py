"""Small bar charts drawn on the server as SVG, for the reports and the board pack.

No chart library and no script: :func:`bar_chart` writes a few ``<rect>`` and ``<text>`` elements. Each
chart is an image with an accessible name and description (``role="img"`` and ``aria-labelledby`` on its
``<title>`` and ``<desc>``, the description listing every value), so a screen reader says what it shows.
Every text is escaped. Colours come from classes in ``style.css`` (``.chart .bar``, ``.bar.warn``,
``.bar.bad``…): the Content-Security-Policy forbids inline styles. The picture scales to its container
(a 360-px phone or an A4 page); labels sit above their bars so they never overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

WIDTH = 400
ROW = 44
BAR = 14
_IDENT = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Bar:
    """One bar: ``label``, its ``value`` (its length; negative counts as 0), the ``text`` shown for it and a
    ``kind`` (a CSS class: ``""``, ``"warn"``, ``"bad"``, ``"muted"``)."""

    label: str
    value: float
    text: str
    kind: str = ""


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(ident: str, title: str, bars: Sequence[Bar], *, description: str = "",
              maximum: float | None = None) -> Markup:
    """An SVG horizontal bar chart. ``ident`` (lower case, digits and ``-``) makes the element ids unique on
    the page; ``maximum`` is the value of a full bar (default: the largest value). Raises ``ValueError`` for
    a bad ``ident``."""
    if not _IDENT.match(ident):
        raise ValueError(f"chart id {ident!r}: use lower-case letters, digits and -")
    values = [max(float(b.value), 0.0) for b in bars]
    top = maximum if maximum is not None and maximum > 0 else max(values + [0.0])
    height = max(ROW * len(bars), ROW)
    listed = "; ".join(f"{b.label}: {b.text}" for b in bars)
    summary = f"{description} {listed}".strip() if description else listed
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="{ident}-title {ident}-desc" id="{ident}">',
             f'<title id="{ident}-title">{escape(title)}</title>',
             f'<desc id="{ident}-desc">{escape(summary)}</desc>']
    for index, (bar, value) in enumerate(zip(bars, values)):
        y = index * ROW
        length = 0.0 if top <= 0 else min(value / top, 1.0) * WIDTH
        kind = bar.kind if re.fullmatch(r"[a-z-]*", bar.kind) else ""
        parts.append(
            f'<g class="row"><text class="label" x="0" y="{y + 15}">{escape(_short(bar.label))}</text>'
            f'<text class="value" x="{WIDTH}" y="{y + 15}" text-anchor="end">{escape(bar.text)}</text>'
            f'<rect class="track" x="0" y="{y + 21}" width="{WIDTH}" height="{BAR}" rx="2"></rect>'
            f'<rect class="bar {kind}" x="0" y="{y + 21}" width="{length:.1f}" height="{BAR}" rx="2"></rect></g>')
    if not bars:
        parts.append(f'<text class="label" x="0" y="20">{escape(summary)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
