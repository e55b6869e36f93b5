"""A self-contained HTML page: sections of figures, metric cards and tables, plotly.js inlined
once (the page opens offline, with no CDN)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import plotly.graph_objects as go

from ktrdr.reports.style import FONT

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: #212529; font-family: FONT; font-size: 15px;
       line-height: 1.5; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header.page { background: #17324d; color: #fff; padding: 22px 28px; }
header.page .inner { max-width: 1240px; margin: 0 auto; padding: 0 28px; }
header.page h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header.page p { margin: 0; color: #c9d6e3; font-size: 14px; }
section { background: #fff; border-radius: 8px; padding: 18px 22px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,0.08); }
section h2 { font-size: 19px; margin: 0 0 12px; font-weight: 600; }
section h3 { font-size: 16px; margin: 14px 0 8px; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr)); gap: 10px; }
.card { border: 1px solid #e3e7eb; border-radius: 6px; padding: 8px 12px; }
.card .label { color: #6c757d; font-size: 12.5px; text-transform: uppercase;
               letter-spacing: .03em; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums;
               overflow-wrap: anywhere; line-height: 1.25; }
.card .hint { color: #6c757d; font-size: 12px; }
table.data { border-collapse: collapse; width: 100%; font-size: 13.5px;
             font-variant-numeric: tabular-nums; }
table.data th { text-align: left; color: #495057; font-weight: 600;
                border-bottom: 2px solid #dee2e6; padding: 6px 10px; white-space: nowrap; }
table.data td { border-bottom: 1px solid #eef0f2; padding: 5px 10px; }
table.data td.num, table.data th.num { text-align: right; }
.scroll { max-height: 420px; overflow: auto; padding-right: 12px; }
.badge { display: inline-block; border-radius: 999px; padding: 2px 12px; font-weight: 600;
         font-size: 13.5px; }
.good { background: #d4edda; color: #155724; }
.bad { background: #f8d7da; color: #721c24; }
.meh { background: #fff3cd; color: #856404; }
.none { background: #e9ecef; color: #495057; }
.note { color: #6c757d; font-size: 13.5px; }
ol.timeline { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 8px; }
ol.timeline li { flex: 1 1 150px; border-left: 4px solid #adb5bd; background: #f8f9fa;
                 padding: 6px 10px; border-radius: 4px; font-size: 13.5px; }
ol.timeline li.good { border-left-color: #28a745; background: #f1f9f3; color: inherit; }
ol.timeline li.bad { border-left-color: #dc3545; background: #fcf1f2; color: inherit; }
ol.timeline li.meh { border-left-color: #ffc107; background: #fffbeb; color: inherit; }
ol.timeline li b { display: block; font-size: 14px; }
ul.tight { margin: 4px 0 8px; padding-left: 20px; }
a { color: #1f5fa8; }
footer { color: #6c757d; font-size: 12.5px; text-align: center; margin-top: 24px; }
""".replace("FONT", FONT)


class Page:
    """An HTML report being assembled; ``render()`` returns the whole document."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self._parts: list[str] = []
        self._plotly_included = False

    def section(self, heading: str, *parts: str, anchor: str | None = None) -> None:
        """Add a section with a heading and already-rendered ``parts``."""
        anchor_attr = f' id="{html.escape(anchor)}"' if anchor else ""
        body = "\n".join(parts)
        self._parts.append(f"<section{anchor_attr}><h2>{html.escape(heading)}</h2>{body}</section>")

    def figure(self, figure: go.Figure) -> str:
        """The figure as a ``div``; the first one on the page carries plotly.js itself."""
        rendered = figure.to_html(
            full_html=False,
            include_plotlyjs=not self._plotly_included,
            config=PLOTLY_CONFIG,
        )
        self._plotly_included = True
        return rendered

    def render(self) -> str:
        """The complete, self-contained HTML document."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f'<header class="page"><div class="inner"><h1>{html.escape(self.title)}</h1>'
            f"<p>{html.escape(self.subtitle)}</p></div></header><main>"
            + "\n".join(self._parts)
            + f"<footer>ktrdr report · built {stamp} from the stored artifacts</footer>"
            "</main></body></html>"
        )


def cards(items: Iterable[tuple[str, str] | tuple[str, str, str]]) -> str:
    """Metric cards: ``(label, value)`` or ``(label, value, hint)``."""
    rendered = []
    for item in items:
        label, value, *hint = item
        hint_html = f'<div class="hint">{html.escape(hint[0])}</div>' if hint else ""
        rendered.append(
            f'<div class="card"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(value)}</div>{hint_html}</div>'
        )
    return f'<div class="cards">{"".join(rendered)}</div>'


def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[bool] = ()
) -> str:
    """A data table; ``numeric[i]`` right-aligns column i. Cells are escaped as text."""
    align = list(numeric) + [False] * (len(columns) - len(numeric))
    head = "".join(
        f'<th class="num">{html.escape(c)}</th>' if a else f"<th>{html.escape(c)}</th>"
        for c, a in zip(columns, align, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(str(v))}</td>'
            if a
            else f"<td>{html.escape(str(v))}</td>"
            for v, a in zip(row, align, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def badge(text: str, tone: str) -> str:
    """A coloured pill: tone good, bad, meh or none."""
    return f'<span class="badge {tone}">{html.escape(text)}</span>'


def note(text: str) -> str:
    """A grey explanatory paragraph."""
    return f'<p class="note">{html.escape(text)}</p>'
