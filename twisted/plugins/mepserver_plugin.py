from twisted.application.service import ServiceMaker

mepserver = ServiceMaker(
    "mepserver",
    "mepserver.tap",
    "An XMPP server with MUC and the MUC Eventing Protocol (XEP-0316)",
    "mepserver",
)
