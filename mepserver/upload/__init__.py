"""
HTTP File Upload (XEP-0363) served by mepserver itself: the slots of the
C{upload.<domain>} service (L{mepserver.upload.handler}), the rules they
follow (L{mepserver.upload.model}), where the files are kept
(L{mepserver.upload.store}) and the C{/upload/} resource of the HTTP
listener (L{mepserver.upload.resource}).
"""
