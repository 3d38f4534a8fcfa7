"""Charts drawn by the server as SVG: no script, no third-party origin, and
readable without them. Each chart comes with its numbers, which the template
``contributions/_chart.html`` also shows as a table.

    chart = Chart(title=_("Documents by language"), rows=[("Français", 120), ...])
    {% include "contributions/_chart.html" with chart=chart %}

``kind="bars"`` draws horizontal bars (categories); ``kind="columns"``
vertical ones (a histogram, months in order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 190
COLUMNS_HEIGHT = 180
_ids = count(1)


def _number(value: float) -> str:
    return number_format(value, decimal_pos=0 if float(value).is_integer() else 1, force_grouping=True)


@dataclass
class Chart:
    title: str
    rows: list[tuple[str, float]]
    kind: str = "bars"
    # The header of the value column in the table ("Documents", "Words"...).
    value_label: str = ""
    label_header: str = ""
    uid: str = field(default_factory=lambda: f"chart-{next(_ids)}")

    @property
    def empty(self) -> bool:
        return not any(value for _label, value in self.rows)

    @property
    def svg(self) -> SafeString:
        return self._bars() if self.kind == "bars" else self._columns()

    def _frame(self, height: int, body: SafeString) -> SafeString:
        summary = pgettext("chart summary", "; ").join(
            pgettext("chart summary", "%(label)s: %(value)s") % {"label": label, "value": _number(value)}
            for label, value in self.rows
        )
        return format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d" '
            'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            '<title id="{}-t">{}</title><desc id="{}-d">{}</desc>{}</svg>',
            WIDTH, height, self.uid, self.uid, self.uid, self.title, self.uid, summary, body,
        )

    def _bars(self) -> SafeString:
        top = max((value for _label, value in self.rows), default=0) or 1
        span = WIDTH - LABEL_WIDTH - 90
        parts = []
        for index, (label, value) in enumerate(self.rows):
            y = index * (BAR_HEIGHT + BAR_GAP)
            width = max(1.0, span * value / top) if value else 0
            shown = label if len(label) <= 28 else label[:27] + "…"
            parts.append(
                (
                    LABEL_WIDTH - 8, y + BAR_HEIGHT * 0.7, shown,
                    LABEL_WIDTH, y, f"{width:.1f}", BAR_HEIGHT,
                    LABEL_WIDTH + width + 6, y + BAR_HEIGHT * 0.7, _number(value),
                )
            )
        body = format_html_join(
            "",
            '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
            '<text x="{}" y="{}" class="chart-value">{}</text>',
            parts,
        )
        height = max(BAR_HEIGHT, len(self.rows) * (BAR_HEIGHT + BAR_GAP))
        return self._frame(height, body)

    def _columns(self) -> SafeString:
        top = max((value for _label, value in self.rows), default=0) or 1
        n = max(1, len(self.rows))
        step = (WIDTH - 20) / n
        plot = COLUMNS_HEIGHT - 40
        # Label every column while they fit, else about twelve of them.
        every = max(1, -(-n // 12))
        parts = []
        for index, (label, value) in enumerate(self.rows):
            height = plot * value / top
            x = 10 + index * step
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"><title>{}: {}</title></rect>',
                    f"{x + step * 0.1:.1f}", f"{10 + plot - height:.1f}", f"{step * 0.8:.1f}", f"{height:.1f}",
                    label, _number(value),
                )
            )
            if index % every == 0:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" text-anchor="middle" class="chart-label">{}</text>',
                        f"{x + step / 2:.1f}", COLUMNS_HEIGHT - 12, label,
                    )
                )
        return self._frame(COLUMNS_HEIGHT, mark_safe("".join(parts)))  # noqa: S308 - built by format_html
