# -*- test-case-name: tests.test_muc_admin -*-
"""
Administering a room (XEP-0045 sections 7.10, 7.12, 7.13, 8, 9 and
10.3-10.8): changing roles (kicks 8.2, voice 8.3-8.4, moderators
9.6-9.7) and affiliations (bans 9.1, members 9.3-9.4, admins 10.6-10.7,
owners 10.3-10.4) with the checks of the role and affiliation state charts
(5.1.3, 5.2.2), the affiliation and role lists (8.5, 9.2, 9.5, 9.8, 10.5,
10.8), voice requests (7.13, 8.6), and registration with reserved nicks
(7.10, 7.12).

Like Prosody's C{plugins/muc/*.lib.lua}, each function takes the room
first; L{mepserver.muc.room.Room} offers the public ones as methods
(C{room.administer(actor, items)}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from twisted.words.protocols.jabber import jid

from mepserver import errors
from mepserver.muc.nicks import bare, checkReservedNick, enforceNick
from mepserver.muc.records import (
    AdminChange,
    AdminItem,
    AffiliationNotice,
    Invitation,
    ListEntry,
    OccupantUpdate,
    Status,
    VoiceRequest,
)
from mepserver.muc.roles import Affiliation, Privilege, Role
from mepserver.muc.roomconfig import RoomConfig

if TYPE_CHECKING:
    from mepserver.muc.room import Occupant, Room


# Voice requests (sections 7.13 and 8.6).


def requestVoice(room: "Room", session: jid.JID) -> Optional[VoiceRequest]:
    """
    An occupant asks for voice (section 7.13).

    @return: the request to pass on to the moderators, or L{None} if the
        occupant is not a visitor (it has voice already).
    @raise errors.NotOccupant: not in the room.
    """
    occupant = room.requireOccupant(session)
    if occupant.role is not Role.VISITOR:
        return None
    moderators = tuple(
        moderatorSession
        for other in room.occupants.values()
        if other.role is Role.MODERATOR
        for moderatorSession in other.sessions
    )
    return VoiceRequest(occupant, session, moderators)


def approveVoice(
    room: "Room", moderator: jid.JID, nick: Optional[str], realJID: Optional[jid.JID]
) -> AdminChange:
    """
    A moderator approves a voice request (section 8.6): the visitor,
    named by nick or else by real JID, gets voice as in section 8.3.
    Nothing changes if it left or has voice by now.

    @raise errors.Refusal: as L{administer}.
    """
    target = room.occupants.get(nick) if nick else None
    if target is None and realJID is not None:
        target = room.occupantOf(realJID)
    if target is None or target.role is not Role.VISITOR:
        _checkModerator(room, room.occupantOf(moderator))
        return AdminChange()
    return administer(
        room,         moderator, [AdminItem(role=Role.PARTICIPANT, nick=target.nick)]
    )


# Registration (sections 7.10 and 7.12).


def registeredNick(room: "Room", user: jid.JID) -> Optional[str]:
    """
    The nick reserved for a user (section 7.12), or L{None}.
    """
    return room.nicks.get(bare(user))


def checkRegistration(room: "Room", user: jid.JID) -> Optional[str]:
    """
    Whether a user may register (section 7.10): an unaffiliated user
    with an open room, and members, admins and owners to reserve a
    nick. Outcasts may not, nor whom a feature refuses (the unaffiliated
    in a members-only room: L{mepserver.muc.features.membersonly}).

    @return: the user's reserved nick if registered, or L{None}.
    @raise errors.NotAllowed: the user may not register.
    """
    affiliation = room.affiliationOf(user)
    if affiliation is Affiliation.OUTCAST:
        raise errors.NotAllowed("you may not register with this room")
    for feature in room.features:
        feature.checkRegistration(room, affiliation)
    return registeredNick(room, user)


def register(room: "Room", session: jid.JID, nick: Optional[str]) -> AdminChange:
    """
    Register with the room (section 7.10): the user becomes a member
    (keeping a higher affiliation) with C{nick} reserved; an occupant's
    presence shows the new affiliation.

    @param nick: the nick to reserve, or L{None} to cancel the
        registration (XEP-0077 C{<remove/>}): the reserved nick goes,
        and a member's membership.
    @raise errors.NotAllowed: the user may not register.
    @raise errors.NoNickname: a nick the Nickname profile refuses
        (L{enforceNick}); the enforced nick is the one reserved.
    @raise errors.NickConflict: another user holds or reserved the nick.
    """
    user = bare(session)
    checkRegistration(room, user)
    affiliation = room.affiliations.get(user, Affiliation.NONE)
    if nick is None:
        new = Affiliation.NONE if affiliation is Affiliation.MEMBER else affiliation
        checkOwnersRemain(room, {user: new})
        updates, _, notices = applyAffiliations(room, {user: (new, None, "")}, None, None)
        return AdminChange(tuple(updates), (), True, tuple(notices))
    nick = enforceNick(nick)
    held = room.holderOf(nick)
    if held is not None and held.realJID != user:
        raise errors.NickConflict(f"the nickname {held.nick!r} is in use in this room")
    checkReservedNick(room, user, nick)
    new = affiliation if affiliation.rank > Affiliation.MEMBER.rank else Affiliation.MEMBER
    updates, _, notices = applyAffiliations(
    room,         {user: (new, room.reasons.get(user), nick)}, None, None
    )
    return AdminChange(tuple(updates), (), True, tuple(notices))


# Roles and affiliations (sections 8.2-8.5, 9, 10.3-10.8).


def administer(room: "Room", actor: jid.JID, items: Sequence[AdminItem]) -> AdminChange:
    """
    Change roles and affiliations: kick (8.2), grant and revoke voice
    (8.3, 8.4) and moderator status (9.6, 9.7), ban (9.1), grant and
    revoke membership (9.3, 9.4), admin (10.6, 10.7) and owner status
    (10.3, 10.4), or send a delta of any list (8.5, 9.2, 9.5, 9.8,
    10.5, 10.8).

    Every item is checked before anything changes: if one is refused,
    none is applied (section 9.2). Affiliations are set by bare JID,
    whether or not the user is present; present occupants take the
    consequences: an outcast is removed with 301, a user who is no
    longer a member of a members-only room with 321, otherwise the
    role follows the new affiliation (section 5.1.2: gained with it, and
    reset to the default on a downgrade, as Prosody does).

    @param actor: the requester's real full JID.
    @return: the L{AdminChange}: occupants to announce, invitations
        (9.5) to send.
    @raise errors.BadRequest: an item sets neither or both of a role
        and an affiliation, or names nobody.
    @raise errors.Forbidden: the actor lacks the role or affiliation
        the change needs (a moderator for roles, an admin for
        affiliations and the moderator role, an owner for admins and
        owners).
    @raise errors.NotAllowed: the target's affiliation protects it
        (8.2, 8.4, 9.1, 9.7).
    @raise errors.Conflict: an admin bans itself (9.1), or no owner
        would remain (10.7).
    @raise errors.NickConflict: a reserved nick belongs to another user.
    @raise errors.OccupantNotFound: no occupant has the nick.
    """
    if not items:
        raise errors.BadRequest("expected at least one item")
    actorAffiliation = room.affiliationOf(actor)
    actorOccupant = room.occupantOf(actor)
    affiliations: Dict[jid.JID, Tuple[Affiliation, Optional[str], Optional[str]]] = {}
    roles: List[Tuple[Occupant, AdminItem]] = []
    for item in items:
        if item.affiliation is not None and item.role is None:
            user = _itemUser(room, item)
            _checkAffiliationChange(room, actor, actorAffiliation, user, item.affiliation)
            reserved = item.nick if item.jid is not None else None
            if reserved:
                # Section 9.5: the nick reserved for the user; an empty
                # one unsets it.
                reserved = enforceNick(reserved)
            affiliations[user] = (item.affiliation, item.reason, reserved)
        elif item.role is not None and item.affiliation is None:
            if not item.nick:
                raise errors.BadRequest("a role change names an occupant by its nick")
            target = room.addressed(item.nick)
            _checkRoleChange(room, actorOccupant, actorAffiliation, target, item.role)
            roles.append((target, item))  # type: ignore[arg-type]
        else:
            raise errors.BadRequest(
                "each item must change either a role or an affiliation"
            )
    checkOwnersRemain(room, {user: change[0] for user, change in affiliations.items()})
    for user, (affiliation, _, reserved) in affiliations.items():
        if reserved and affiliation.rank >= Affiliation.MEMBER.rank:
            checkReservedNick(room, user, reserved)
    actorNick = actorOccupant.nick if actorOccupant is not None else None
    updates, invitations, notices = applyAffiliations(
        room, affiliations, bare(actor), actorNick
    )
    for target, item in roles:
        if room.occupants.get(target.nick) is target:
            update = _setRole(room, target, item.role, item.reason, actorNick)  # type: ignore[arg-type]
            if update is not None:
                updates.append(update)
    return AdminChange(tuple(updates), tuple(invitations), bool(affiliations), tuple(notices))


def adminList(room: "Room", actor: jid.JID, item: AdminItem) -> List[ListEntry]:
    """
    An affiliation list (outcasts 9.2, members 9.5, admins 10.8, owners
    10.5), sorted by JID, or a role list (voice 8.5: participants,
    visitors; moderators 9.8), in order of arrival.

    An affiliation list names users, present or not: each entry has the
    bare JID, the affiliation, the reserved nick (7.10, 9.5) and the
    reason, and no role (as Prosody answers; section 9.5's example 130
    shows a role, which clients such as Converse.js read as a role
    change). A role list names occupants: shown JID, nick, role and
    affiliation (examples 104 and 147).

    @raise errors.BadRequest: the item asks for neither or both, or
        for the unaffiliated or role C{none}.
    @raise errors.Forbidden: the actor may not see that list
        (L{mayRetrieve}; role lists: moderators, and admins for the
        moderator list).
    """
    if item.affiliation is not None and item.role is None:
        affiliation = item.affiliation
        if affiliation is Affiliation.NONE:
            raise errors.BadRequest("there is no list of unaffiliated users")
        if not room.mayRetrieve(actor, affiliation):
            raise errors.Forbidden(f"you may not see the {affiliation.value} list")
        entries = []
        for user, held in sorted(room.affiliations.items(), key=lambda i: i[0].full()):
            if held is not affiliation:
                continue
            entries.append(ListEntry(
                user, held, None, room.nicks.get(user), room.reasons.get(user)
            ))
        return entries
    if item.role is not None and item.affiliation is None:
        role = item.role
        if role is Role.NONE:
            raise errors.BadRequest("there is no list of role none")
        actorAffiliation = room.affiliationOf(actor)
        if actorAffiliation.rank < Affiliation.ADMIN.rank:
            if role is Role.MODERATOR:
                raise errors.Forbidden("only admins and owners may see the moderator list")
            _checkModerator(room, room.occupantOf(actor))
        return [
            ListEntry(o.shownJID, o.affiliation, o.role, o.nick)
            for o in room.occupants.values()
            if o.role is role
        ]
    raise errors.BadRequest("ask for one affiliation or one role")


def mayRetrieve(room: "Room", actor: jid.JID, affiliation: Affiliation) -> bool:
    """
    Whether C{actor} may see the list of C{affiliation}: admins see the
    outcasts (9.2) and the members (9.5), owners every list. Others see
    the member list if they may see real JIDs (5.2.1, note ***) and,
    when present, their role may retrieve it (C{getmemberlist},
    L{mepserver.muc.features.memberlist}); members who are not
    present only in non-anonymous rooms (9.5). The admin and owner
    lists are for owners in semi-anonymous rooms (10.5, 10.8); in
    non-anonymous rooms whoever sees the member list sees them too.
    """
    actorAffiliation = room.affiliationOf(actor)
    if affiliation is Affiliation.OUTCAST:
        return actorAffiliation.rank >= Affiliation.ADMIN.rank
    if actorAffiliation is Affiliation.OWNER:
        return True
    if affiliation is Affiliation.MEMBER and actorAffiliation is Affiliation.ADMIN:
        return True
    nonAnonymous = room.nonAnonymous
    if affiliation.rank >= Affiliation.ADMIN.rank and not nonAnonymous:
        return False
    occupant = room.occupantOf(actor)
    if occupant is None:
        return nonAnonymous and actorAffiliation.rank >= Affiliation.MEMBER.rank
    return (
        room.may(occupant.role, Privilege.RETRIEVE_MEMBER_LIST)
        and room.canSeeRealJIDs(occupant)
    )


def noticeRecipients(room: "Room") -> List[jid.JID]:
    """
    The sessions to tell of an absent user's new affiliation
    (L{AffiliationNotice}): those of occupants who may see real JIDs,
    since the notice names the user by its JID (moderators only in a
    semi-anonymous room, as Prosody does).
    """
    return [
        session
        for occupant in room.occupants.values()
        if room.canSeeRealJIDs(occupant)
        for session in occupant.sessionJIDs
    ]


def _occupantsOf(room: "Room", user: jid.JID) -> List[Occupant]:
    """
    The occupants a user's affiliation applies to: its own, or for a
    domain every occupant of the domain without an affiliation of its
    own.
    """
    if user.user is not None:
        return [o for o in room.occupants.values() if o.realJID == user]
    return [
        o for o in room.occupants.values()
        if o.realJID.host == user.host and o.realJID not in room.affiliations
    ]


def _itemUser(room: "Room", item: AdminItem) -> jid.JID:
    """
    The bare JID an affiliation item names (sections 10.3, 10.6: a full
    JID stands for its bare JID); or the occupant with its nick.
    """
    if item.jid is not None:
        return bare(item.jid)
    if item.nick:
        occupant = room.addressed(item.nick)
        if occupant is None:
            raise errors.OccupantNotFound(f"there is no {item.nick!r} in this room")
        return occupant.realJID
    raise errors.BadRequest("an affiliation change names a user by its JID")


def _checkModerator(room: "Room", occupant: Optional[Occupant]) -> None:
    """
    @raise errors.Forbidden: not a present moderator (section 8).
    """
    if occupant is None or occupant.role is not Role.MODERATOR:
        raise errors.Forbidden("only moderators may do this")


def _checkRoleChange(
    room: "Room",
    actor: Optional[Occupant],
    actorAffiliation: Affiliation,
    target: Optional[Occupant],
    role: Role,
) -> None:
    """
    The rules of sections 8.2-8.4, 9.6, 9.7 and the role state chart
    (5.1.3).
    """
    _checkModerator(room, actor)
    if target is None:
        raise errors.OccupantNotFound("there is no such occupant in this room")
    if role is target.role:
        return
    targetAffiliation = target.affiliation
    if role is Role.NONE:
        # Section 8.2: no kicking a higher affiliation; and (5.1.3,
        # 5.2.1 note **) admins and owners only by a higher one, and
        # moderators only by admins and owners.
        if targetAffiliation.rank > actorAffiliation.rank or (
            targetAffiliation.rank >= Affiliation.ADMIN.rank
            and targetAffiliation.rank >= actorAffiliation.rank
        ):
            raise errors.NotAllowed(
                f"you may not kick someone who is {targetAffiliation.value} of this room"
            )
        if target.role is Role.MODERATOR and actorAffiliation.rank < Affiliation.ADMIN.rank:
            raise errors.NotAllowed("only admins and owners may kick moderators")
        return
    if targetAffiliation.rank >= Affiliation.ADMIN.rank and role is not Role.MODERATOR:
        # Sections 8.4 and 9.7: admins and owners keep voice and
        # moderator status.
        raise errors.NotAllowed(
            f"an {targetAffiliation.value} of this room stays a moderator"
        )
    if Role.MODERATOR in (role, target.role) and actorAffiliation.rank < Affiliation.ADMIN.rank:
        raise errors.Forbidden("only admins and owners may grant or revoke moderator status")
    if role is Role.VISITOR and targetAffiliation.rank > actorAffiliation.rank:
        raise errors.NotAllowed("you may not revoke the voice of a higher affiliation")


def _checkAffiliationChange(
    room: "Room",
    actor: jid.JID,
    actorAffiliation: Affiliation,
    user: jid.JID,
    affiliation: Affiliation,
) -> None:
    """
    The rules of sections 9.1, 10.3-10.8 and the affiliation state
    chart (5.2.2): admins edit outcasts and members, owners every list.
    """
    if actorAffiliation.rank < Affiliation.ADMIN.rank:
        raise errors.Forbidden("only admins and owners may change affiliations")
    if affiliation is Affiliation.OUTCAST and user == bare(actor):
        raise errors.Conflict("you may not ban yourself")
    if actorAffiliation is Affiliation.OWNER:
        return
    if affiliation.rank >= Affiliation.ADMIN.rank:
        raise errors.Forbidden("only owners may grant admin or owner status")
    current = room.affiliations.get(user, Affiliation.NONE)
    if current.rank >= Affiliation.ADMIN.rank:
        raise errors.NotAllowed(
            f"only owners may change the affiliation of an {current.value}"
        )


def checkOwnersRemain(room: "Room", changes: Mapping[jid.JID, Affiliation]) -> None:
    """
    @raise errors.Conflict: no owner would remain (sections 10.4, 10.7).
    """
    owners = {u for u, a in room.affiliations.items() if a is Affiliation.OWNER}
    for user, affiliation in changes.items():
        if affiliation is Affiliation.OWNER:
            owners.add(user)
        else:
            owners.discard(user)
    if not owners:
        raise errors.Conflict("a room must keep at least one owner")


def applyAffiliations(
    room: "Room",
    changes: Mapping[jid.JID, Tuple[Affiliation, Optional[str], Optional[str]]],
    inviter: Optional[jid.JID],
    actorNick: Optional[str],
) -> Tuple[List[OccupantUpdate], List[Invitation], List[AffiliationNotice]]:
    """
    Set checked affiliations: bare JIDs to C{(affiliation, reason,
    reserved nick)}. A ban forgets the reserved nick (9.1), and so does
    losing every affiliation. Returns the present occupants' updates,
    when C{inviter} is given the invitations of section 9.5, and the
    notices of absent users' changed affiliations.
    """
    updates: List[OccupantUpdate] = []
    invitations: List[Invitation] = []
    notices: List[AffiliationNotice] = []
    password = room.invitationPassword()
    for user, (affiliation, reason, reserved) in changes.items():
        previous = room.affiliations.get(user, Affiliation.NONE)
        before = [(o, o.affiliation, o.role) for o in _occupantsOf(room, user)]
        if affiliation is Affiliation.NONE:
            room.affiliations.pop(user, None)
            room.reasons.pop(user, None)
            room.nicks.pop(user, None)
        else:
            room.affiliations[user] = affiliation
            if reason:
                room.reasons[user] = reason
            else:
                room.reasons.pop(user, None)
            if affiliation is Affiliation.OUTCAST or reserved == "":
                room.nicks.pop(user, None)
            elif reserved:
                room.nicks[user] = reserved
        if (
            inviter is not None
            and user.user is not None
            and not before
            and any(
                feature.invitesOnAffiliation(room, previous, affiliation)
                for feature in room.features
            )
        ):
            # Section 9.5: a new member of a members-only room is
            # invited.
            invitations.append(Invitation(user, inviter, reason, password))
        if not before and affiliation is not previous:
            notices.append(AffiliationNotice(user, affiliation))
        for occupant, oldAffiliation, oldRole in before:
            update = _followAffiliation(room, occupant, oldAffiliation, oldRole, reason, actorNick)
            if update is not None:
                updates.append(update)
    return updates, invitations, notices


def _followAffiliation(
    room: "Room",
    occupant: Occupant,
    oldAffiliation: Affiliation,
    oldRole: Role,
    reason: Optional[str],
    actorNick: Optional[str],
) -> Optional[OccupantUpdate]:
    """
    What a present occupant's new affiliation does to it: removal (301
    for an outcast, or as a feature says: 321 in a members-only room,
    9.4) or a new role.

    @return: the update, or L{None} if nothing others see changed.
    """
    affiliation = occupant.affiliation
    status: Optional[Status] = Status.BANNED
    if affiliation is not Affiliation.OUTCAST:
        status = room.firstOpinion(
            lambda feature: feature.affiliationRemoval(room, affiliation)
        )
    if status is not None:
        departures = room.removeOccupant(occupant, [status])
        return OccupantUpdate(occupant, oldRole, tuple(departures), reason, actorNick)
    default = room.defaultRole(affiliation)
    if default is not occupant.role and (
        affiliation.rank < oldAffiliation.rank or default.rank > occupant.role.rank
    ):
        occupant.role = default
    if (affiliation, occupant.role) == (oldAffiliation, oldRole):
        return None
    return OccupantUpdate(occupant, oldRole, (), reason, actorNick)


def _setRole(
    room: "Room", occupant: Occupant, role: Role, reason: Optional[str], actorNick: Optional[str]
) -> Optional[OccupantUpdate]:
    """
    Set a checked role; C{none} removes the occupant with 307 (8.2).
    """
    previous = occupant.role
    if role is previous:
        return None
    if role is Role.NONE:
        departures = room.removeOccupant(occupant, [Status.KICKED])
        return OccupantUpdate(occupant, previous, tuple(departures), reason, actorNick)
    occupant.role = role
    return OccupantUpdate(occupant, previous, (), reason, actorNick)


def listChanges(
    room: "Room", lists: Mapping[Affiliation, FrozenSet[jid.JID]], config: RoomConfig
) -> Dict[jid.JID, Affiliation]:
    """
    The affiliation changes that complete admin and owner lists ask for
    (L{mepserver.muc.room.Room.configure}); an owner named in the admin
    list stays an owner unless the owner list was submitted too. Whoever
    a list leaves out gets the features' C{demotedAffiliation} (a member
    of a members-only room), else none.
    """
    fallback = room.firstOpinion(lambda feature: feature.demotedAffiliation(room, config))
    if fallback is None:
        fallback = Affiliation.NONE
    target: Dict[jid.JID, Affiliation] = {}
    for affiliation in (Affiliation.OWNER, Affiliation.ADMIN):
        if affiliation not in lists:
            continue
        for user, held in room.affiliations.items():
            if held is affiliation and user not in lists[affiliation]:
                target.setdefault(user, fallback)
        for user in lists[affiliation]:
            if target.get(user) is Affiliation.OWNER:
                continue
            if Affiliation.OWNER not in lists and room.affiliations.get(user) is Affiliation.OWNER:
                continue
            target[user] = affiliation
    return {
        user: affiliation
        for user, affiliation in target.items()
        if room.affiliations.get(user, Affiliation.NONE) is not affiliation
    }
