# -*- test-case-name: tests.test_inspector -*-
"""
The developer's window: a live web page at the HTTP listener's root that
shows the server's client sessions (transport, TLS, SASL, stream
management, carbons, caps), its rooms (configuration, occupants, MEP
interests, nodes and items), a live stream of the stanzas sessions send
and receive, and, for each MEP publication, which sessions got it and why
the others did not (L{mepserver.mep.deliveries}).

  - L{mepserver.inspector.stanzas}: the stanza ring buffer and its live
    event streams;
  - L{mepserver.inspector.views}: what the page shows, as JSON;
  - L{mepserver.inspector.resource}: the page's static files and its API
    endpoints;
  - C{static/}: the page itself, plain HTML, CSS and JavaScript.
"""
