# -*- test-case-name: tests.test_muc_features -*-
"""
Members-only rooms (XEP-0045 section 4.2, C{muc#roomconfig_membersonly}),
with every rule of the option, as Prosody's C{members_only.lib.lua} has
them:

  - only members, admins and owners enter; others get
    C{registration-required} (section 7.2.6);
  - only admins and owners invite, unless C{muc#roomconfig_allowinvites}
    lets every occupant (section 9.5), and an invitee without an
    affiliation becomes a member (sections 7.8.2 and 9.5);
  - the unaffiliated may not register: membership is the admins' to give
    (section 7.10);
  - only members, admins and owners read the room's message archive
    (XEP-0313 section 7.1.2);
  - a new member who is not present is invited (section 9.5);
  - an occupant who stops being a member leaves with 321 (section 9.4),
    and non-members leave a room made members-only with 322 (section
    10.2);
  - someone a submitted admin or owner list leaves out stays a member
    (sections 10.2 and 10.7).
"""

from typing import Optional

from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.muc.features.base import PREFIX, BooleanOption
from mepserver.muc.records import Status
from mepserver.muc.roles import Affiliation
from mepserver.muc.roomconfig import RoomConfig


class MembersOnly(BooleanOption):
    """
    C{muc#roomconfig_membersonly}: C{muc_membersonly} or C{muc_open}.
    """

    name = "membersonly"
    var = PREFIX + "membersonly"
    label = "Make Room Members-Only?"
    attribute = "membersOnly"
    onFeature = "muc_membersonly"
    offFeature = "muc_open"

    def checkJoin(self, room, attempt) -> None:
        if room.config.membersOnly and attempt.affiliation.rank < Affiliation.MEMBER.rank:
            raise errors.MembersOnly("this room is members-only and you are not a member")

    def checkInvite(self, room, inviter) -> None:
        if (
            room.config.membersOnly
            and not room.config.allowInvites
            and inviter.affiliation.rank < Affiliation.ADMIN.rank
        ):
            raise errors.Forbidden(
                "only admins and owners may invite others to this members-only room"
            )

    def invited(self, room, invitee: jid.JID) -> bool:
        if (
            room.config.membersOnly
            and invitee.user is not None
            and room.affiliationOf(invitee) is Affiliation.NONE
        ):
            room.affiliations[invitee] = Affiliation.MEMBER
            return True
        return False

    def checkRegistration(self, room, affiliation: Affiliation) -> None:
        if room.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank:
            raise errors.NotAllowed("you may not register with this room")

    def checkArchiveReader(self, room, affiliation: Affiliation, present: bool) -> None:
        if room.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank:
            raise errors.Forbidden(
                "this room is members-only: only its members may read its archive"
            )

    def invitesOnAffiliation(self, room, previous: Affiliation, affiliation: Affiliation) -> bool:
        return (
            room.config.membersOnly
            and affiliation is Affiliation.MEMBER
            and previous.rank < Affiliation.MEMBER.rank
        )

    def affiliationRemoval(self, room, affiliation: Affiliation) -> Optional[Status]:
        if room.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank:
            return Status.AFFILIATION_LOST
        return None

    def configRemoval(self, room, affiliation: Affiliation) -> Optional[Status]:
        if room.config.membersOnly and affiliation.rank < Affiliation.MEMBER.rank:
            return Status.MEMBERS_ONLY
        return None

    def demotedAffiliation(self, room, config: RoomConfig) -> Optional[Affiliation]:
        return Affiliation.MEMBER if config.membersOnly else None


feature = MembersOnly()
