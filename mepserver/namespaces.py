# -*- test-case-name: tests.test_stream,tests.test_caps -*-
"""
The XML namespaces more than one module of mepserver uses and neither
Twisted nor wokkel defines: one definition each.

  - C{jabber:client}, the content namespace of client streams (RFC 6120
    section 4.8.3);
  - the C{xml} prefix's namespace, for C{xml:lang} (RFC 6120 section
    4.7.4; Namespaces in XML 1.0 section 3);
  - C{jabber:iq:register}, in-band registration (XEP-0077 section 3),
    which MUC's nick registration reuses (XEP-0045 section 7.10);
  - C{vcard-temp} (XEP-0054), which the client domain answers and the MUC
    service forwards to occupants' bare JIDs.

Where wokkel defines a namespace, modules import it from there: for
example C{wokkel.disco.NS_DISCO_INFO}, C{wokkel.delay.NS_DELAY} (XEP-0203)
and C{wokkel.data_form.NS_X_DATA} (XEP-0004). A namespace that one module
alone uses stays in that module.
"""

NS_CLIENT = "jabber:client"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_REGISTER = "jabber:iq:register"
NS_VCARD = "vcard-temp"
