# -*- test-case-name: tests.test_muc_room -*-
"""
The room options of the MUC service, one module each (XEP-0045 section
10.1.3; Prosody's C{plugins/muc/*.lib.lua} layout).

Each module has a C{feature} providing
L{mepserver.interfaces.IRoomFeature}, and each option owns all of its
rules through the interface's hooks: who enters, who invites and
registers, who is removed when an affiliation or the configuration
changes, which privileges a role has, who sees real JIDs and whose
presence is broadcast. L{FEATURES} fixes their order, which is the order
of the configuration form, of disco features, of join and invitation
checks (members-only, then password, then the occupant limit) and of
opinions (default roles, privileges: the first feature with one decides).
There are no priorities.
"""

from mepserver.muc.features import (
    archiving,
    description,
    history,
    invites,
    language,
    maxusers,
    memberlist,
    membersonly,
    moderated,
    name,
    password,
    persistent,
    presencebroadcast,
    privatemessages,
    public,
    roomadmins,
    roomowners,
    roompublishers,
    subject,
    whois,
)

FEATURES = (
    name.feature,
    description.feature,
    language.feature,
    public.feature,
    persistent.feature,
    archiving.feature,
    membersonly.feature,
    moderated.feature,
    password.feature,
    whois.feature,
    maxusers.feature,
    subject.feature,
    invites.feature,
    privatemessages.feature,
    presencebroadcast.feature,
    memberlist.feature,
    history.feature,
    roomadmins.feature,
    roomowners.feature,
    roompublishers.feature,
)
