# -*- test-case-name: tests.test_muc_features -*-
"""
Password-protected rooms (XEP-0045 sections 4.2 and 7.2.5,
C{muc#roomconfig_passwordprotectedroom} and C{muc#roomconfig_roomsecret}):
entering needs the password; a wrong or missing one gets
C{not-authorized}. Invitations carry the password (sections 7.8.2 and
9.5), as Prosody's C{password.lib.lua} adds it. The room's message
archive (XEP-0313 section 7.1.2) is for those who may enter: its
occupants, and its members, admins and owners.
"""

from mepserver import errors
from mepserver.muc.features.base import (
    CHANGED,
    PREFIX,
    UNCHANGED,
    RoomFeature,
    booleanField,
    parseBoolean,
    parseText,
)
from mepserver.muc.roles import Affiliation
from mepserver.muc.roomconfig import ConfigField


class Password(RoomFeature):
    """
    C{muc_passwordprotected} or C{muc_unsecured}.
    """

    name = "password"
    protectedVar = PREFIX + "passwordprotectedroom"
    secretVar = PREFIX + "roomsecret"

    def discoFeatures(self, room):
        if room.config.passwordProtected:
            return ["muc_passwordprotected"]
        return ["muc_unsecured"]

    def configFields(self, room):
        return [
            booleanField(self.protectedVar, "Password Required to Enter?",
                         room.config.passwordProtected),
            ConfigField("", "fixed", values=(
                "If a password is required to enter this room, "
                "you must specify the password below.",)),
            ConfigField(self.secretVar, "text-private", "Password",
                        (room.config.password,) if room.config.password else ()),
        ]

    def applyConfig(self, room, config, values):
        protected = parseBoolean(values, self.protectedVar)
        secret = parseText(values, self.secretVar)
        if protected is None and secret is not None:
            # A form with only a secret (as Prosody's has) means: protect the
            # room with it, or stop protecting it when empty.
            protected = bool(secret)
        if protected is None:
            return UNCHANGED
        if secret is None:
            secret = config.password
        if protected and not secret:
            # Section 10.1.3: a password-protected room with a blank
            # password violates the service's policy.
            raise errors.NotAcceptable("a password-protected room needs a password")
        if not protected:
            secret = ""
        if (protected, secret) == (config.passwordProtected, config.password):
            return UNCHANGED
        config.passwordProtected, config.password = protected, secret
        return CHANGED

    def checkJoin(self, room, attempt):
        if room.config.passwordProtected and attempt.password != room.config.password:
            if attempt.password is None:
                raise errors.PasswordRequired("this room needs a password")
            raise errors.PasswordRequired("the room password is wrong")

    def checkArchiveReader(self, room, affiliation, present):
        # XEP-0313 section 7.1.2: the right to enter. A query carries no
        # password: those in the room gave it, members need none to read.
        if room.config.passwordProtected and not present and affiliation.rank < Affiliation.MEMBER.rank:
            raise errors.Forbidden(
                "this room is password-protected: enter it to read its archive"
            )

    def invitationPassword(self, room):
        return room.config.password if room.config.passwordProtected else None


feature = Password()
