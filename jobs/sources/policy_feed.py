"""RSS/Atom feeds of policy documents and news, matched to sectors and technologies.

fetch: one GET of the feed URL (conditional, via jobs.sources.http).
parse: pure. feedparser reads RSS 0.9x/1.0/2.0 and Atom; each item's title + summary is
matched against the keyword rules in data/policy_keywords.toml (see that file). Matched
items become policy rows (review_status 'unreviewed', id = 'feed:' + hash of guid or
link, so the same item is stored once however often it is seen); unmatched items are
only counted. A body that is not a feed (an HTML error page, say) is SourceChanged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import re
import tomllib
from pathlib import Path
from typing import Mapping

import feedparser
import pandas as pd

from jobs.errors import ConfigError, SourceChanged
from jobs.settings import REPO_DATA_DIR
from jobs.sources.base import CONTROL_CHARACTERS, Parsed
from jobs.sources.http import Fetched, fetch_url

KEYWORDS_FILE = "policy_keywords.toml"
SUMMARY_CHARS = 1000
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def fetch(client, source, state) -> Fetched:
    if not source.url:
        raise ConfigError(f"source {source.name!r}: a policy_feed needs a url")
    return fetch_url(client, source.url, options=source.http,
                     etag=state.etag, last_modified=state.last_modified)


class Rules:
    """Compiled keyword rules: topic terms, and terms per sector / technology code."""

    def __init__(self, raw: Mapping):
        try:
            self.topic = [_compile(t) for t in raw["topic"]["terms"]]
            self.sectors = {code: [_compile(t) for t in terms] for code, terms in raw["sectors"].items()}
            self.technologies = {code: [_compile(t) for t in terms]
                                 for code, terms in raw["technologies"].items()}
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"keyword rules need [topic].terms, [sectors] and [technologies]: {exc}") from exc

    @classmethod
    def load(cls, path: Path) -> "Rules":
        try:
            return cls(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read keyword rules: {exc}") from exc

    def match(self, text: str) -> tuple[bool, list[str], list[str]]:
        if not any(p.search(text) for p in self.topic):
            return False, [], []
        sectors = [c for c, ps in self.sectors.items() if any(p.search(text) for p in ps)]
        techs = [c for c, ps in self.technologies.items() if any(p.search(text) for p in ps)]
        return True, sectors, techs


def _compile(term: str) -> re.Pattern:
    if term.isascii():  # whole words for Latin script; Chinese has no word spaces
        return re.compile(r"(?<![A-Za-z0-9])" + re.escape(term) + r"(?![A-Za-z0-9])", re.I)
    return re.compile(re.escape(term), re.I)


def _text(value: str | None) -> str:
    """Plain text of a feed field: tags dropped, entities decoded, control characters (a NUL
    PostgreSQL cannot store) and runs of white space turned into one space."""
    plain = html.unescape(_TAGS.sub(" ", value or ""))
    return _SPACES.sub(" ", CONTROL_CHARACTERS.sub(" ", plain)).strip()


def _date(entry) -> dt.date | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday) if stamp else None


def item_id(identity: str) -> str:
    return "feed:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: rules (a Rules), keywords_file (path), source_name, where."""
    options = dict(options or {})
    where = options.get("where", "feed")
    rules = options.get("rules") or Rules.load(
        options.get("keywords_file") or Path(options.get("data_dir") or REPO_DATA_DIR) / KEYWORDS_FILE)
    feed = feedparser.parse(io.BytesIO(raw))
    if not feed.get("version"):
        reason = feed.get("bozo_exception") or "no RSS or Atom root element"
        raise SourceChanged(f"{where}: not an RSS/Atom feed ({reason})")
    feed_title = _text(feed.feed.get("title")) or options.get("source_name") or where

    rows, seen = [], set()
    unmatched = duplicates = 0
    for entry in feed.entries:
        link = CONTROL_CHARACTERS.sub("", entry.get("link") or "") or None
        identity = CONTROL_CHARACTERS.sub("", entry.get("id") or "") or link
        title = _text(entry.get("title"))
        if not identity:
            identity = title  # a feed without guid or link: the title is all we have
        if not identity:
            continue
        if identity in seen:
            duplicates += 1
            continue
        seen.add(identity)
        summary = _text(entry.get("summary") or entry.get("description"))
        matched, sectors, techs = rules.match(f"{title}\n{summary}")
        if not matched:
            unmatched += 1
            continue
        rows.append({
            "id": item_id(identity), "date": _date(entry), "date_precision": "day",
            "title": title or link, "issuer": None,
            "sectors": ";".join(sectors) or None, "technologies": ";".join(techs) or None,
            "url": link, "source": feed_title, "summary": summary[:SUMMARY_CHARS] or None,
            "review_status": "unreviewed", "feed": options.get("source_name"), "guid": identity,
        })
    counts = {"items": len(feed.entries), "matched_items": len(rows),
              "unmatched_items": unmatched, "duplicate_items_in_payload": duplicates}
    return Parsed(policies=pd.DataFrame(rows, columns=_COLUMNS), counts=counts)


_COLUMNS = ["id", "date", "date_precision", "title", "issuer", "sectors", "technologies", "url",
            "source", "summary", "review_status", "feed", "guid"]
