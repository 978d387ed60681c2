# -*- test-case-name: tests.test_upload -*-
"""
The HTTP File Upload service's XMPP side (XEP-0363), at C{upload.<domain>}.

Section 3 (Discovering Support): the service's disco#info has the identity
C{store/file}, the feature C{urn:xmpp:http:upload:0} and a XEP-0128 form
with C{FORM_TYPE} and C{max-file-size}; the client domain lists the
service in its disco#items (L{mepserver.c2s.disco.ServerInfoHandler}).

Section 4 (Requesting a slot) and section 6 (Error conditions): see
L{UploadHandler}.
"""

from twisted.internet import defer
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish
from wokkel import data_form, disco, generic
from wokkel.iwokkel import IDisco
from zope.interface import implementer

from mepserver import errors
from mepserver.upload.model import NS_UPLOAD

#: A slot request (section 4).
SLOT_REQUEST = f"/iq[@type='get']/request[@xmlns='{NS_UPLOAD}']"


@implementer(IDisco)
class UploadHandler(generic.XMPPHandler):
    """
    Answer slot requests, and the service's own disco#info.

    Observes C{<iq type='get'><request xmlns='urn:xmpp:http:upload:0'
    filename size content-type/></iq>} and answers with C{<slot><put
    url/><get url/></slot>} (no C{<header/>}: the URL's token authorises
    the PUT), or with the errors L{UploadService.requestSlot} raises:

      - C{forbidden} (auth) to anyone but the client domain's accounts;
      - C{bad-request} (modify) for a missing or invalid C{filename},
        C{size} or C{content-type};
      - C{not-acceptable} (modify) with C{<file-too-large><max-file-size/>}
        for a file over the limit;
      - C{resource-constraint} (wait) with C{<retry stamp/>} while unused
        slots hold the quota, C{not-acceptable} (modify) when stored files
        fill it.

    @ivar service: the L{mepserver.upload.model.UploadService}.
    """

    def __init__(self, service):
        generic.XMPPHandler.__init__(self)
        self.service = service

    def connectionInitialized(self):
        self.xmlstream.addObserver(SLOT_REQUEST, self.onRequest)

    def onRequest(self, iq):
        """
        A slot request arrived.
        """
        if iq.handled:
            return
        iq.handled = True
        d = errors.answerIQ(iq, defer.maybeDeferred(self._slot, iq))
        d.addCallback(self.send)

    def _slot(self, iq) -> domish.Element:
        request = iq.request
        slot = self.service.requestSlot(
            jid.internJID(iq["from"]),
            request.getAttribute("filename"),
            request.getAttribute("size"),
            request.getAttribute("content-type"),
        )
        url = self.service.url(slot)
        element = domish.Element((NS_UPLOAD, "slot"))
        element.addElement("put")["url"] = url
        element.addElement("get")["url"] = url
        return element

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        """
        Section 3: the identity, the feature and the C{max-file-size} form.
        """
        if target.user is not None or nodeIdentifier:
            return defer.succeed([])
        form = data_form.Form("result", formNamespace=NS_UPLOAD)
        form.addField(
            data_form.Field(var="max-file-size", value=str(self.service.maxFileSize))
        )
        return defer.succeed(
            [
                disco.DiscoIdentity("store", "file", "HTTP File Upload"),
                disco.DiscoFeature(disco.NS_DISCO_INFO),
                disco.DiscoFeature(NS_UPLOAD),
                form,
            ]
        )

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])
