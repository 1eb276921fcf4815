"""Numeric localisation targets read from policy text (English and Chinese): pure, text in,
candidates out. A candidate is a share (threshold) paired with a deadline in one sentence.

A sentence yields candidates only when it has
  * a share: `70%`, `70 percent`, `７０％`, `百分之七十`, `七成` / `7成` (0 < share <= 100 %),
  * a deadline year: `by 2025`, `before 2027`, `in 2025`, `by the end of 2027`, `end-2025`
    (English: a preposition before the year, so "Made in China 2025" is a name, not a
    deadline), `next year` / `明年` (from the publication date), `到2027年`, `2027年底前`,
    `2027年6月`, `“十四五”末` (the five-year plan's last year),
  * a target word: by, before, target, goal, aim, should, must, will, required, milestone;
    到, 前, 达到, 超过, 不低于, 力争, 目标, 要求, 要, 需, 实现, 提升至, 以上, 完成, 国产化率...
and none of: a growth word just before the share ("grow by 20%", "年均增速超过20%",
"同比增长"), a forecast or estimate (forecast, expected, 预计, 预测), a status marker
(still, 仍有, 已经, 当时, 数据显示) unless the sentence states a goal (goal, target, 目标,
要求, 力争), or a deadline before the item's publication year (a past statistic:
"2020年国产CPU服务器占比19.9%" published in 2024).

Each share is paired with the nearest deadline in the sentence (English: either side, so
"40 percent by 2020 and 70 percent by 2025" gives two candidates; Chinese: the nearest one
before it, where "到2026年" leads its clause). A deadline year means its last day (as data/policies.csv encodes "by 2019": 2019-12-31); a month its last day.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping, Pattern, Sequence

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
           "八": 8, "九": 9}
_CN_NUMBER = "零〇一二两三四五六七八九十百点"
# The five-year plans by their Chinese names, and the year each ends.
_PLANS = {"十一五": 2010, "十二五": 2015, "十三五": 2020, "十四五": 2025, "十五五": 2030, "十六五": 2035}

_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])|(?<=[.])\s+(?=[A-Z\"“(])")
_SHARES: list[tuple[str, Pattern]] = [
    ("percent", re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b|per\s?cent\b|pct\b)", re.I)),
    ("zh_percent", re.compile(rf"百分之([{_CN_NUMBER}]+)")),
    ("zh_tenths", re.compile(r"(?<![\d.])(\d|[一二三四五六七八九十])成(?![为立果功绩本熟员])")),
]
_YEARS: list[tuple[str, Pattern]] = [
    ("en_year", re.compile(r"\b(?:by|before|in|until|through|till|by\s+the\s+end\s+of|by\s+end[- ]of|"
                           r"by\s+end|end[- ]of|end|by\s+year[- ]end)[\s-]+(20\d\d)\b", re.I)),
    ("zh_month", re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月")),
    ("zh_year", re.compile(r"(20\d\d)\s*年(?!\s*\d{1,2}\s*月)")),
    ("zh_plan", re.compile(r"[“\"]?(十[一二三四五六]五)[”\"]?\s*(?:期)?末")),
]
_CUES = re.compile(
    r"\b(?:by|before|targets?|goals?|aims?|should|must|shall|will|required?|milestones?|reach|"
    r"self[- ]sufficien\w*|domestic)\b|"
    r"到|至|前|达到|超过|不低于|不少于|力争|目标|要求|要|需|实现|提升|提高到|提高至|以上|完成|国产化率|自给率|替代|比例",
    re.I)
_GROWTH_BEFORE = re.compile(
    r"(?:增长|增速|增幅|同比|环比|年均|复合|增加了?|下降了?|降低了?|提高了|"
    r"\b(?:grow\w*|increase[sd]?\s+by|rose\s+by|rise[sn]?\s+by|fell\s+by|CAGR|year[- ]on[- ]year|"
    r"annual(?:ly)?|growth(?:\s+rate)?(?:\s+of)?|at\s+a\s+rate\s+of))[^\d%]{0,8}$", re.I)
_GROWTH_AFTER = re.compile(r"^\s*(?:%|percent|per\s?cent)?\s*(?:growth|a\s+year|per\s+year|annually|"
                           r"year[- ]on[- ]year|的(?:年均)?增长|的增速)", re.I)
_NOT_A_TARGET = re.compile(
    r"\b(?:forecasts?|forecasted|expected|expects?|estimates?|estimated|predicts?|predicted|projected|"
    r"projects|likely|still|was|were)\b|预计|预测|估计|有望|仍有|仍需|尚有|已经|已达|当时|曾经|数据显示|跃升", re.I)
# A stated goal outweighs a forecast word in the same sentence ("The goal is to substitute
# 30% ..., citing estimates from analysts"): the words say what the target is, not a guess.
_STATED_GOAL = re.compile(r"\b(?:goals?|targets?|aims?)\b|目标|要求|力争", re.I)
_RELATIVE_YEARS = [(re.compile(r"\bnext\s+year\b|明年", re.I), 1), (re.compile(r"\bthis\s+year\b|今年", re.I), 0)]


@dataclass(frozen=True)
class Candidate:
    sentence: str
    threshold: float  # fraction 0-1
    deadline: dt.date
    pattern: str  # "<share pattern>+<deadline pattern>", e.g. "percent+en_year"


def cn_number(text: str) -> float | None:
    """百分之 numerals: 七十 -> 70, 七十五 -> 75, 百 -> 100, 三十五点五 -> 35.5, 五 -> 5."""
    whole, _, fraction = text.partition("点")
    if whole in ("百", "一百"):
        value = 100.0
    else:
        tens, sep, units = whole.partition("十")
        if sep:
            value = (_DIGITS.get(tens, 0) if tens else 1) * 10 + (_DIGITS.get(units, 0) if units else 0)
            if (tens and tens not in _DIGITS) or (units and units not in _DIGITS):
                return None
        elif whole and all(c in _DIGITS for c in whole) and len(whole) == 1:
            value = _DIGITS[whole]
        else:
            return None
    if fraction:
        if not all(c in _DIGITS for c in fraction):
            return None
        value += float("0." + "".join(str(_DIGITS[c]) for c in fraction))
    return float(value)


def sentences(text: str) -> list[str]:
    parts = _SENTENCE_END.split(text or "")
    return [p.strip() for p in parts if p and p.strip()]


def _shares(sentence: str) -> list[tuple[int, int, float, str]]:
    found = []
    for name, pattern in _SHARES:
        for m in pattern.finditer(sentence):
            raw = m.group(1)
            if name == "percent":
                value = float(raw)
            elif name == "zh_percent":
                value = cn_number(raw)
            else:
                value = (int(raw) if raw.isdigit() else cn_number(raw)) * 10
            if value is None or not 0 < value <= 100:
                continue
            before, after = sentence[max(0, m.start() - 30):m.start()], sentence[m.end():m.end() + 20]
            if _GROWTH_BEFORE.search(before) or _GROWTH_AFTER.search(after):
                continue
            found.append((m.start(), m.end(), value / 100, name))
    return found


def _deadlines(sentence: str, published: dt.date | None) -> list[tuple[int, int, dt.date, str]]:
    found, taken = [], []
    for pattern, offset in _RELATIVE_YEARS if published else ():  # "next year": after publication
        found += [(m.start(), m.end(), dt.date(published.year + offset, 12, 31), "relative_year")
                  for m in pattern.finditer(sentence)]
    for name, pattern in _YEARS:
        for m in pattern.finditer(sentence):
            if any(s <= m.start() < e for s, e in taken):
                continue  # "by the end of 2027年" is one deadline
            if name == "zh_plan":
                date = dt.date(_PLANS[m.group(1)], 12, 31)
            elif name == "zh_month":
                year, month = int(m.group(1)), int(m.group(2))
                if not 1 <= month <= 12:
                    continue
                date = dt.date(year, month, calendar.monthrange(year, month)[1])
            else:
                date = dt.date(int(m.group(1)), 12, 31)
            taken.append((m.start(), m.end()))
            found.append((m.start(), m.end(), date, name))
    return found


def _closeness(share: tuple[int, int], deadline: tuple) -> tuple:
    """Sort key: a Chinese deadline leads its clause ("到2026年…达到30%，2028年达到60%"), so the
    nearest one before the share wins; an English one is the nearest either side."""
    distance = max(deadline[0] - share[1], share[0] - deadline[1], 0)
    after = deadline[0] > share[0]
    return (after, distance) if deadline[3].startswith("zh") else (distance, after)


def extract(text: str, published: dt.date | None = None) -> list[Candidate]:
    """Candidates in `text` (a feed item's title and summary); `published` (the item's date)
    rules out deadlines in earlier years. One candidate per (threshold, deadline)."""
    out: dict[tuple[float, dt.date], Candidate] = {}
    for original in sentences(text):
        sentence = unicodedata.normalize("NFKC", original)
        if (_NOT_A_TARGET.search(sentence) and not _STATED_GOAL.search(sentence)) or not _CUES.search(sentence):
            continue
        deadlines = _deadlines(sentence, published)
        if published is not None:
            deadlines = [d for d in deadlines if d[2].year >= published.year]
        if not deadlines:
            continue
        for start, end, share, share_name in _shares(sentence):
            nearest = min(deadlines, key=lambda d: _closeness((start, end), d))
            key = (round(share, 6), nearest[2])
            out.setdefault(key, Candidate(original, round(share, 6), nearest[2], f"{share_name}+{nearest[3]}"))
    return list(out.values())


def guess_codes(sentence: str, sectors: Mapping[str, Sequence[Pattern]],
                technologies: Mapping[str, Sequence[Pattern]], fallback_sectors: Iterable[str] = (),
                fallback_technologies: Iterable[str] = ()) -> tuple[str | None, str | None]:
    """(sector, technology): the first code whose keyword patterns (data/policy_keywords.toml)
    match the sentence, else the item's own first tag, else None."""
    def first(rules, fallback):
        hit = next((code for code, patterns in rules.items() if any(p.search(sentence) for p in patterns)), None)
        return hit or next(iter(fallback), None)

    return first(sectors, fallback_sectors), first(technologies, fallback_technologies)


__all__ = ["Candidate", "extract", "guess_codes", "cn_number", "sentences"]
