# -*- test-case-name: tests.test_muc_model -*-
"""
What the room options (XEP-0045 section 10.1.3) have in common: a base
class with do-nothing defaults, and parsers for submitted form values.
"""

from __future__ import annotations

from typing import FrozenSet, List, Mapping, Optional, Sequence

from zope.interface import implementer

from mepserver import errors
from mepserver.interfaces import IRoomFeature
from mepserver.muc.model import ConfigField, Status

#: Form field name prefix of the registered room options (16.5.3).
PREFIX = "muc#roomconfig_"

CHANGED = frozenset({Status.CONFIGURATION_CHANGED})
UNCHANGED: FrozenSet[Status] = frozenset()


@implementer(IRoomFeature)
class RoomFeature:
    """
    A room option that adds nothing: subclasses override what they need.
    """

    name = "feature"

    def discoFeatures(self, room) -> List[str]:
        return []

    def configFields(self, room) -> List[ConfigField]:
        return []

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        return UNCHANGED

    def checkJoin(self, room, attempt) -> None:
        return None

    def defaultRole(self, room, affiliation):
        return None


class BooleanOption(RoomFeature):
    """
    An option that is one boolean field and one attribute of
    L{mepserver.muc.model.RoomConfig}, with a disco feature for each value.

    @cvar var: the field's C{var}.
    @cvar label: its label.
    @cvar attribute: the L{RoomConfig} attribute.
    @cvar onFeature: the disco feature when on, or L{None}.
    @cvar offFeature: the disco feature when off, or L{None}.
    """

    var = ""
    label = ""
    attribute = ""
    onFeature: Optional[str] = None
    offFeature: Optional[str] = None

    def discoFeatures(self, room) -> List[str]:
        feature = self.onFeature if getattr(room.config, self.attribute) else self.offFeature
        return [feature] if feature else []

    def configFields(self, room) -> List[ConfigField]:
        return [booleanField(self.var, self.label, getattr(room.config, self.attribute))]

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        value = parseBoolean(values, self.var)
        if value is None or value == getattr(config, self.attribute):
            return UNCHANGED
        setattr(config, self.attribute, value)
        return CHANGED


class TextOption(RoomFeature):
    """
    An option that is one text field and one string attribute of the
    configuration.
    """

    var = ""
    label = ""
    attribute = ""

    def configFields(self, room) -> List[ConfigField]:
        return [ConfigField(self.var, "text-single", self.label, (getattr(room.config, self.attribute),))]

    def applyConfig(self, room, config, values) -> FrozenSet[Status]:
        value = parseText(values, self.var)
        if value is None or value == getattr(config, self.attribute):
            return UNCHANGED
        setattr(config, self.attribute, value)
        return CHANGED


def booleanField(var: str, label: str, value: bool) -> ConfigField:
    """
    @return: a boolean form field.
    """
    return ConfigField(var, "boolean", label, ("1" if value else "0",))


def parseBoolean(values: Mapping[str, Sequence[str]], var: str) -> Optional[bool]:
    """
    Read a boolean field (XEP-0004 section 3.3: C{1}/C{true}, C{0}/C{false}).

    @return: the value, or L{None} if the field is absent.
    @raise errors.BadRequest: anything else.
    """
    if var not in values:
        return None
    given = list(values[var])
    if not given:
        return False
    text = given[0].strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise errors.BadRequest(f"{var}: {given[0]!r} is not a boolean")


def parseText(values: Mapping[str, Sequence[str]], var: str) -> Optional[str]:
    """
    Read a single-valued text field; several values are joined by lines.

    @return: the value, or L{None} if the field is absent.
    """
    if var not in values:
        return None
    return "\n".join(values[var])


def parseChoice(
    values: Mapping[str, Sequence[str]], var: str, choices: Sequence[str]
) -> Optional[str]:
    """
    Read a list-single field.

    @return: the value, or L{None} if the field is absent.
    @raise errors.BadRequest: a value not among C{choices}.
    """
    text = parseText(values, var)
    if text is None:
        return None
    text = text.strip()
    if text not in choices:
        raise errors.BadRequest(f"{var}: {text!r} is not one of {', '.join(choices)}")
    return text
