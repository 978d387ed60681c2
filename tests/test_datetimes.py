# -*- test-case-name: tests.test_datetimes -*-
"""
Tests for L{mepserver.datetimes}: XEP-0082 DateTimes in UTC.
"""

import datetime

from twisted.trial import unittest

from mepserver.datetimes import formatDateTime

UTC = datetime.timezone.utc


class FormatDateTimeTests(unittest.SynchronousTestCase):
    """
    L{formatDateTime}.
    """

    def test_wholeSeconds(self):
        """
        A whole second has no fraction (XEP-0082 section 3.2, example 2).
        """
        self.assertEqual("2002-10-13T23:58:37Z", formatDateTime(1034553517))
        self.assertEqual("1970-01-01T00:00:00Z", formatDateTime(0.0))

    def test_milliseconds(self):
        """
        A time between two seconds keeps its milliseconds; a finer fraction
        is cut off.
        """
        self.assertEqual("1970-01-01T00:00:01.500Z", formatDateTime(1.5))
        when = datetime.datetime(2020, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
        self.assertEqual("2020-01-01T00:00:00.123Z", formatDateTime(when))
        when = datetime.datetime(2020, 1, 1, 0, 0, 0, 999, tzinfo=UTC)
        self.assertEqual("2020-01-01T00:00:00.000Z", formatDateTime(when))

    def test_datetime(self):
        """
        A datetime in UTC gives the same text as its seconds since the
        epoch.
        """
        when = datetime.datetime(2003, 12, 13, 23, 58, 37, tzinfo=UTC)
        self.assertEqual("2003-12-13T23:58:37Z", formatDateTime(when))
        self.assertEqual(formatDateTime(when.timestamp()), formatDateTime(when))

    def test_otherZone(self):
        """
        A datetime in another zone is written in UTC, with C{Z}.
        """
        zone = datetime.timezone(datetime.timedelta(hours=-7))
        when = datetime.datetime(2002, 10, 13, 16, 58, 37, tzinfo=zone)
        self.assertEqual("2002-10-13T23:58:37Z", formatDateTime(when))

    def test_naive(self):
        """
        A naive datetime is taken as UTC, whatever the local zone.
        """
        when = datetime.datetime(2020, 1, 1)
        self.assertEqual("2020-01-01T00:00:00Z", formatDateTime(when))
