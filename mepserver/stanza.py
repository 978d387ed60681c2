# -*- test-case-name: tests.test_stanza -*-
"""
Helpers on stanzas shared by the client domain, MUC and pubsub.
"""

from twisted.words.xish import domish


def copyStanza(stanza: domish.Element, **attributes) -> domish.Element:
    """
    A new stanza with the attributes and children of C{stanza}.

    The children are shared, not copied: stanzas in flight are never
    changed, and broadcasts stay cheap (DESIGN.md section 9: one payload,
    only the addressing varies per recipient). Adding a child to the copy
    does not add it to the original.

    @param attributes: attributes to set; L{None} removes one.
    """
    element = domish.Element(
        (stanza.uri, stanza.name),
        stanza.defaultUri,
        localPrefixes=dict(stanza.localPrefixes),
    )
    element.attributes = dict(stanza.attributes)
    element.children = list(stanza.children)
    for name, value in attributes.items():
        if value is None:
            element.attributes.pop(name, None)
        else:
            element[name] = value
    return element
