# -*- test-case-name: tests.test_datetimes -*-
"""
The one writer of dates and times for the whole server: the XEP-0082
DateTime profile (section 3.2, C{CCYY-MM-DDThh:mm:ss[.sss]TZD}), always in
UTC with the C{Z} designator, as XEP-0203 delay stamps (section 4) and
XEP-0045 history (section 7.2.15) carry them, and as the HTTP API shows
when an item was published.

Whole seconds are written without a fraction. A time between two seconds
keeps its milliseconds (XEP-0082 allows them): MUC history is stamped on a
clock with sub-second precision, and a client that asks for the history
C{since} the stamp of the last message it saw must not get that message
again.
"""

from __future__ import annotations

import datetime
from typing import Union


def formatDateTime(when: Union[float, datetime.datetime]) -> str:
    """
    Write a XEP-0082 DateTime in UTC, such as C{"2002-10-13T23:58:37Z"} or,
    with milliseconds when not whole, C{"1970-01-01T00:00:01.500Z"}.

    @param when: seconds since the epoch, or a L{datetime.datetime}; a
        naive one is taken as UTC.
    @return: the DateTime; a fraction finer than a millisecond is cut off.
    """
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        when = when.astimezone(datetime.timezone.utc)
    else:
        when = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += ".%03d" % (when.microsecond // 1000,)
    return text + "Z"
