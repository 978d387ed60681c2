"""
The publish-subscribe engine (XEP-0060) that PEP (XEP-0163) and MEP
(XEP-0316) share: nodes, items, interests, recipients and notifications.

  - L{mepserver.pubsub.model}: virtual services, nodes, items and the
    access and recipient rules, in plain Python;
  - L{mepserver.pubsub.interests}: caps (XEP-0115) to C{+notify}
    interests, per entity;
  - L{mepserver.pubsub.registry}: services by JID, loaded from and written
    through to an L{mepserver.interfaces.IPubSubStore};
  - L{mepserver.pubsub.service}: C{PubSubHandler}, wokkel's pubsub service
    protocol (requests, disco, notifications);
  - L{mepserver.pubsub.resource}: C{ServiceResource}, wokkel's pubsub
    resource (the XEP-0060 use cases), and C{NoServiceResource}.

A context (L{mepserver.interfaces.IPubSubContext}) decides what differs
between PEP and MEP: who owns a service, who shares presence with it, who
is implicitly subscribed and where explicit subscribers' notifications go.
"""
