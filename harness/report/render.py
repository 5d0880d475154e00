"""Rendering the report: Markdown beside its figure files, one self-contained HTML file, terminal tables.

The HTML embeds every figure as a base64 data URI and holds no script or
style from elsewhere, so it opens from disk, by e-mail or in a browser with
no server. A small inline script records on <body> how many figures decoded
(data-figures-loaded="k/n"), which the headless-browser test reads.
"""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate


@dataclass
class Table:
    title: str
    frame: pd.DataFrame
    caption: str


@dataclass
class Document:
    title: str
    source: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, Path, str]] = field(default_factory=list)


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats rounded for reading (CSV files keep full precision)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else (f"{v:.4g}" if abs(v) < 1e-2 else f"{v:.4f}"
                                                                        if abs(v) < 10 else f"{v:.2f}"))
    return out.fillna("")


def terminal(tables: list[Table]) -> str:
    parts = []
    for t in tables:
        parts.append(f"{t.title}\n{tabulate(_display(t.frame), headers='keys', showindex=False)}")
    return "\n\n".join(parts)


def markdown(doc: Document, out: Path) -> str:
    lines = [f"# {doc.title}", "", f"Results: `{doc.source}`  ", f"Written: {_now()}", ""]
    if doc.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in doc.notes] + [""]
    for t in doc.tables:
        lines += [f"## {t.title}", "", t.caption, "",
                  tabulate(_display(t.frame), headers="keys", showindex=False, tablefmt="github"), ""]
    for title, path, caption in doc.figures:
        rel = os.path.relpath(path, out)
        lines += [f"## {title}", "", f"![{title}]({rel})", "", caption, ""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 0.3rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.45rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
.scroll { overflow-x: auto; }
.caption { color: #555; font-size: 0.85rem; max-width: 60rem; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
.notes li { margin: 0.2rem 0; }
"""

_CHECK = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("figure img");
  var ok = 0;
  imgs.forEach(function (img) { if (img.complete && img.naturalWidth > 0) { ok += 1; } });
  document.body.setAttribute("data-figures-loaded", ok + "/" + imgs.length);
});
"""


def html(doc: Document) -> str:
    esc = html_lib.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(doc.title)}</title>",
             f"<style>{_STYLE}</style><script>{_CHECK}</script></head><body>",
             f"<h1>{esc(doc.title)}</h1><p class='caption'>Results: <code>{esc(doc.source)}</code><br>"
             f"Written: {_now()}</p>"]
    if doc.notes:
        parts.append("<h2>Notes</h2><ul class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in doc.notes)
                     + "</ul>")
    for i, t in enumerate(doc.tables):
        table = _display(t.frame).to_html(index=False, escape=True, border=0, table_id=f"table-{i}")
        parts.append(f"<section class='table' data-title='{esc(t.title)}'><h2>{esc(t.title)}</h2>"
                     f"<div class='scroll'>{table}</div><p class='caption'>{esc(t.caption)}</p></section>")
    for title, path, caption in doc.figures:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f"<figure><h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption class='caption'>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
