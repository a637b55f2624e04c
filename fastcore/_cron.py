"""Cron schedules as Temporal reads them: when the next run of a cron workflow starts.

Temporal parses ``cron_schedule`` with robfig/cron's standard parser, and so does this module:

- five fields, ``minute hour day-of-month month day-of-week``, each ``*`` (or ``?``), a value,
  a range ``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n`` (``a`` to the end), or a list of
  those separated by commas; months ``1-12`` or ``JAN``-``DEC``, weekdays ``0-6`` (Sunday is
  0) or ``SUN``-``SAT``, case-insensitive. When both day fields are restricted a day matching
  either runs (standard cron); when one is ``*`` both must match.
- descriptors ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
  (``@midnight``), ``@hourly``, and ``@every <duration>`` (Go's duration syntax: ``1h30m``,
  ``90s``, ``1.5h``; at least a second, whole seconds), which runs every ``duration``
  counted from the chain's first run;
- a ``CRON_TZ=<zone>`` (or ``TZ=<zone>``) prefix: the fields are read in that IANA time zone
  (UTC otherwise).

``backoff(schedule, start, close)`` is Temporal's ``GetBackoffForNextSchedule``: the wait from
a run's close until the first schedule time, counted from the run's start, that is not
before the close. A first run waits until the first schedule time after the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidArgumentError

__all__ = ["CronSchedule", "backoff", "parse_cron"]

_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_SEARCH_YEARS = 5  # robfig gives up after five years without a match: "never"


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]
    star: bool  # written as * or ?: the day fields then combine with AND


def _parse_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> _Field:
    values: set[int] = set()
    star = False

    def number(part: str) -> int:
        upper = part.upper()
        if upper in names:
            return names[upper]
        if not part.isdigit():
            raise InvalidArgumentError(f"cron {name} field: {part!r} is not a number or name")
        return int(part)

    for item in text.split(","):
        range_part, _, step_part = item.partition("/")
        if not range_part:
            raise InvalidArgumentError(f"cron {name} field: empty item in {text!r}")
        if range_part in ("*", "?"):
            start, end, item_star = low, high, True
        else:
            item_star = False
            first, dash, last = range_part.partition("-")
            start = number(first)
            end = number(last) if dash else start
            if step_part and not dash:
                end = high  # "a/n" means a to the end, every n
        step = 1
        if step_part:
            if not step_part.isdigit() or int(step_part) == 0:
                raise InvalidArgumentError(f"cron {name} field: bad step {step_part!r}")
            step = int(step_part)
            if step > 1:
                item_star = False
        if start < low or end > high:
            raise InvalidArgumentError(f"cron {name} field: {range_part!r} is outside {low}-{high}")
        if start > end:
            raise InvalidArgumentError(f"cron {name} field: {range_part!r} runs backwards")
        values.update(range(start, end + 1, step))
        star = star or item_star
    return _Field(frozenset(values), star)


def _go_duration(text: str) -> float:
    """Seconds in a Go duration string (``1h30m``, ``90s``, ``1.5h``)."""
    pos, total = 0, 0.0
    if not text:
        raise InvalidArgumentError("@every needs a duration, e.g. '@every 1h30m'")
    while pos < len(text):
        m = _GO_DURATION.match(text, pos)
        if m is None:
            raise InvalidArgumentError(
                f"@every: {text!r} is not a duration (e.g. '90s', '15m', '1h30m')"
            )
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    return total


class CronSchedule:
    """A parsed cron schedule; ``next_after(t)`` is the first schedule time after ``t``."""

    def __init__(self, text: str) -> None:
        self.text = text
        spec = text.strip()
        self.tz: tzinfo = UTC
        if spec.startswith(("CRON_TZ=", "TZ=")):
            zone_part, _, spec = spec.partition(" ")
            zone = zone_part.split("=", 1)[1]
            try:
                self.tz = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidArgumentError(
                    f"cron schedule {text!r}: unknown time zone {zone!r}"
                ) from None
            spec = spec.strip()
        self.every: float | None = None
        if spec.startswith("@every"):
            seconds = _go_duration(spec[len("@every") :].strip())
            self.every = float(max(int(seconds), 1))  # whole seconds, at least one
            return
        spec = _DESCRIPTORS.get(spec.lower(), spec)
        if spec.startswith("@"):
            raise InvalidArgumentError(f"cron schedule {text!r}: unknown descriptor {spec!r}")
        fields = spec.split()
        if len(fields) != 5:
            raise InvalidArgumentError(
                f"cron schedule {text!r} has {len(fields)} fields; expected 5 "
                "(minute hour day-of-month month day-of-week) or a descriptor such as "
                "'@hourly' or '@every 1h'"
            )
        self.minute = _parse_field(fields[0], "minute", 0, 59, {})
        self.hour = _parse_field(fields[1], "hour", 0, 23, {})
        self.dom = _parse_field(fields[2], "day-of-month", 1, 31, {})
        self.month = _parse_field(fields[3], "month", 1, 12, _MONTHS)
        self.dow = _parse_field(fields[4], "day-of-week", 0, 6, _DAYS)

    def _day_matches(self, day: datetime) -> bool:
        dom = day.day in self.dom.values
        dow = (day.weekday() + 1) % 7 in self.dow.values
        if self.dom.star or self.dow.star:
            return dom and dow
        return dom or dow

    def next_after(self, t: float) -> float | None:
        """The first schedule time strictly after ``t`` (epoch seconds); None if there is
        none within five years (e.g. February 30th)."""
        if self.every is not None:
            return float(int(t)) + self.every
        local = datetime.fromtimestamp(t, self.tz).replace(tzinfo=None)
        at = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = at.year + _SEARCH_YEARS
        while at.year <= limit:
            if at.month not in self.month.values:
                year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
                at = datetime(year, month, 1)
                continue
            if not self._day_matches(at):
                at = datetime(at.year, at.month, at.day) + timedelta(days=1)
                continue
            if at.hour not in self.hour.values:
                at = at.replace(minute=0) + timedelta(hours=1)
                continue
            if at.minute not in self.minute.values:
                at += timedelta(minutes=1)
                continue
            aware = at.replace(tzinfo=self.tz)
            # a wall time a daylight-saving jump skips does not exist: look further
            if aware.astimezone(UTC).astimezone(self.tz).replace(tzinfo=None) != at:
                at += timedelta(minutes=1)
                continue
            when = aware.timestamp()
            if when > t:
                return when
            at += timedelta(minutes=1)
        return None


def parse_cron(text: str) -> CronSchedule:
    """Parse a cron schedule; ``InvalidArgumentError`` says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError(f"a cron schedule is a non-empty string, not {text!r}")
    return CronSchedule(text)


def backoff(schedule: CronSchedule, start: float, close: float) -> float | None:
    """Seconds from ``close`` to the next run (Temporal's ``GetBackoffForNextSchedule``):
    the first schedule time after ``start`` that is not before ``close``; None: never."""
    nxt = schedule.next_after(start)
    if nxt is not None and nxt < close:
        if schedule.every is not None:
            # start + k * every, the first one at or after close
            periods = -(-(close - nxt) // schedule.every)
            nxt += periods * schedule.every
        else:
            # schedule times are whole minutes: the first one at or after close
            nxt = schedule.next_after(close - 1e-3)
    return None if nxt is None else max(nxt - close, 0.0)
