"""The short card a user's milestone carries: title, date, org, one-line innovation, source link.

A milestone YAML states them in its ``meta`` (title, date, org, short, link); a Hugging Face
config.json has none, so ``archstudio timeline add`` and File → Add to timeline… ask for them.
Each check returns one line naming the field, for the CLI's exit 2 and the dialog's form.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from studio.core import errors as E

DATE_FORMS = "YYYY-MM or YYYY-MM-DD"
MILESTONE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}\Z")  # as a preset id (file_schemas.PRESET_ID)
LIMITS = {"title": 80, "org": 80, "innovation": 200, "source": 500}


def date_text(value) -> str:
    """A YAML date as text: ``2024-05-07`` unquoted is read as a date, ``2024-05`` as text."""
    if isinstance(value, _dt.date):
        return value.isoformat()[:10]
    return str(value).strip() if value is not None else ""


def date_problem(text: str) -> str:
    """'' when ``text`` is a real YYYY-MM or YYYY-MM-DD date, else why not."""
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text or "")
    if not m:
        return f"date {text!r} is not {DATE_FORMS}" if text else f"a date is needed ({DATE_FORMS})"
    year, month, day = int(m[1]), int(m[2]), int(m[3] or 1)
    if not 1950 <= year <= 2100:
        return f"date {text!r}: the year must be from 1950 to 2100"
    try:
        _dt.date(year, month, day)
    except ValueError:
        return f"date {text!r} is not a day of the calendar"
    return ""


def date_key(text: str) -> tuple[int, int, int | None]:
    """(year, month, day or None) of a checked date (a month alone has no day)."""
    parts = [int(x) for x in text.split("-")]
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


def link_problem(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+\.[^\s/]+(/\S*)?", text or ""):
        return f"source {text!r} is not a web link (http:// or https://)" if text else \
            "a source link is needed (http:// or https://)"
    return ""


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:60].rstrip("-") or "milestone"


@dataclass(frozen=True)
class Card:
    """What a config.json milestone needs besides its numbers. ``builds_on`` (optional) names the
    milestone it builds on (default: the config family's milestone); ``id`` (optional) its id on
    the timeline (default: date-title, as the presets are named)."""
    title: str
    date: str
    org: str
    innovation: str
    source: str
    builds_on: str = ""
    id: str = ""

    def problems(self) -> list[str]:
        """Every field's problem, one line each, in the form's order ([] when the card is good)."""
        out = []
        for name, value in (("title", self.title), ("date", None), ("org", self.org),
                            ("innovation", self.innovation), ("source", None)):
            if name == "date":
                p = date_problem(self.date.strip())
            elif name == "source":
                p = link_problem(self.source.strip())
            elif not value.strip():
                p = f"a {'one-line innovation' if name == 'innovation' else name} is needed"
            elif "\n" in value or "\r" in value:
                p = f"{name} must be one line"
            elif len(value.strip()) > LIMITS[name]:
                p = f"{name} is {len(value.strip())} characters; at most {LIMITS[name]}"
            else:
                p = ""
            if p:
                out.append(p)
        if self.id and not MILESTONE_ID.match(self.id):
            out.append(f"id {self.id!r} must be letters, digits, '.', '_' or '-' (starting with a letter or digit)")
        return out

    def check(self, where: str = "card") -> None:
        problems = self.problems()
        if problems:
            raise E.LoadError(f"{where}: {problems[0]}")

    def milestone_id(self) -> str:
        return self.id or f"{self.date.strip()[:7]}-{slug(self.title)}"

    def meta(self) -> dict:
        """The card as a preset's ``meta`` keys."""
        out = {"title": self.title.strip(), "date": self.date.strip(), "org": self.org.strip(),
               "short": self.innovation.strip(), "link": self.source.strip()}
        if self.builds_on.strip():
            out["builds_on"] = self.builds_on.strip()
        return out
