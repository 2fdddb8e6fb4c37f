"""XMLTV times (``20240101120000 +0100``) read as aware UTC datetimes by :func:`parse_xmltv_time`.

The forms accepted and how times without an offset fall on DST changes are listed under "Times" in
:mod:`m3u_strm.ingest.xmltv`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

_TIME_RE = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(\d{2})?)?)?"
    r"\s*(?:(Z|UTC|GMT)|([+-])(\d{2}):?(\d{2})?)?",
    re.ASCII,
)


def parse_xmltv_time(value: str, default_tz: tzinfo = UTC) -> datetime:
    """An XMLTV time as an aware UTC datetime; ``ValueError`` when it is not one.

    >>> parse_xmltv_time("20240101120000 +0100")
    datetime.datetime(2024, 1, 1, 11, 0, tzinfo=datetime.timezone.utc)
    """
    match = _TIME_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an XMLTV time: {value!r}")
    year, month, day, hour, minute, second, utc_name, sign, off_hours, off_minutes = match.groups()
    zone = default_tz
    if utc_name:
        zone = UTC
    elif sign:
        hours, minutes = int(off_hours), int(off_minutes or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"offset out of range in XMLTV time: {value!r}")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if sign == "-" else offset)
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=zone
        )
        return local.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"XMLTV time out of range: {value!r}") from exc
