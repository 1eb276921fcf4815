"""Text that came from outside (feed titles and summaries, imported `source`, `note`, names
and policy titles, pull and run errors) shown as typed: never as Markdown or HTML, and a
link only when it is an http(s) URL (no `javascript:` or `file:` links)."""
from __future__ import annotations

import re
from urllib.parse import urlparse

# What starts Markdown, HTML or Streamlit syntax: links and images ([ ]), emphasis, code,
# headings, quotes and raw HTML (< >), entities (&), tables, strikethrough, math ($),
# directives and emoji (:red[...], :material/x:), autolinks (http://, a@b); CommonMark
# lets a backslash escape each of them.
_ACTIVE = re.compile(r"([\\`*_\[\]<>#~$&|:@!{}])")
_WWW = re.compile(r"(?i)\b(www)\.")  # GFM links a bare www.example.com


def md(value) -> str:
    """`value` as Markdown that renders exactly its characters, on one line: `![x](u)`,
    `[a](b)`, `<img>`, `**`, `$x$`, `:red[...]` and bare URLs all become plain text."""
    text = " ".join(("" if value is None else str(value)).splitlines())
    return _WWW.sub(r"\1\\.", _ACTIVE.sub(r"\\\1", text))


def http_link(url) -> str | None:
    """`url` when its scheme is http or https, else None (shown as text, never as a link)."""
    if not isinstance(url, str):
        return None
    return url if urlparse(url.strip()).scheme.lower() in ("http", "https") else None
