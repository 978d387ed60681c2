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


def parseStanza(text: str) -> domish.Element:
    """
    Parse an element the server stored as text (an offline message,
    private XML, a bookmark) back into an element.

    @param text: one element as XML text, as L{domish.Element.toXml} wrote
        it.
    """
    elements = []
    stream = domish.elementStream()
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = elements.append
    stream.DocumentEndEvent = lambda: None
    # Under a wrapper root, as a stream's stanzas are: the parser hands
    # over complete children of the root only.
    stream.parse(b"<stored>" + text.encode("utf-8") + b"</stored>")
    return elements[0]
