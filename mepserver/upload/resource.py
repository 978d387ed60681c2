# -*- test-case-name: tests.test_upload -*-
"""
The C{/upload/} resource of the HTTP listener: the PUT and GET of
HTTP File Upload slots (XEP-0363 section 7, Upload; section 8,
Implementation Notes; section 9.1, Security Considerations).

C{/upload/<token>/<filename>} answers:

  - C{PUT} to an unused, unexpired slot whose Content-Length is the
    slot's size and whose Content-Type is the slot's (parameters aside),
    if the slot has one: C{201 Created}. Otherwise C{404} (no such slot),
    C{409} (uploaded already), C{410} (expired), C{413} (longer than the
    slot), C{400} (shorter, or no Content-Length), C{415} (another type).
  - C{GET} and C{HEAD} of an uploaded file: its bytes with the declared
    Content-Type (C{application/octet-stream} if none), a Content-Disposition
    (C{inline} for images other than SVG, audio and video, C{attachment}
    otherwise, with the file name), C{X-Content-Type-Options: nosniff} and
    the Content-Security-Policy of section 9.1; C{404} before the upload.
  - C{OPTIONS}: a CORS preflight answer, C{204}, allowing C{PUT} with a
    Content-Type header from any origin (section 8).

Every answer carries C{Access-Control-Allow-Origin: *}, so that a browser
client can read it; no credentials are involved. Other methods get C{405}.
"""

from urllib.parse import quote

from twisted.web import pages, resource

from mepserver.upload import model

#: The methods of an upload URL.
ALLOWED = b"GET, HEAD, OPTIONS, PUT"

#: XEP-0363 section 9.1: no active content runs from an upload.
CONTENT_SECURITY_POLICY = b"default-src 'none'; frame-ancestors 'none'"

#: What each refusal of L{model.UploadService.upload} answers.
STATUSES = {
    model.SlotNotFound: (404, "No Such Resource"),
    model.SlotUsed: (409, "Conflict"),
    model.SlotExpired: (410, "Gone"),
    model.ContentTypeMismatch: (415, "Unsupported Media Type"),
}


def contentDisposition(slot: model.Slot) -> bytes:
    """
    @return: the Content-Disposition of a download (RFC 6266): C{inline}
        for media a browser shows without running anything, C{attachment}
        otherwise, with the file name in UTF-8.
    """
    kind = model.mediaType(slot.contentType) or model.DEFAULT_CONTENT_TYPE
    inline = kind.split("/")[0] in ("image", "audio", "video") and kind != "image/svg+xml"
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename*=UTF-8''{quote(slot.filename, safe='')}".encode("ascii")


class UploadResource(resource.Resource):
    """
    C{/upload/}: every slot's URL.

    @ivar service: the L{model.UploadService}.
    """

    isLeaf = True

    def __init__(self, service):
        resource.Resource.__init__(self)
        self.service = service

    def render(self, request):
        request.setHeader(b"access-control-allow-origin", b"*")
        try:
            token, filename = (part.decode("utf-8") for part in request.postpath)
        except ValueError:
            token = filename = ""
        if not token or not filename:
            return pages.notFound(
                "No Such Resource", "upload URLs are /upload/<token>/<filename>"
            ).render(request)
        if request.method == b"PUT":
            return self._put(request, token, filename)
        if request.method in (b"GET", b"HEAD"):
            return self._get(request, token, filename)
        if request.method == b"OPTIONS":
            request.setResponseCode(204)
            request.setHeader(b"access-control-allow-methods", ALLOWED)
            request.setHeader(b"access-control-allow-headers", b"Content-Type")
            request.setHeader(b"access-control-max-age", b"86400")
            return b""
        request.setHeader(b"allow", ALLOWED)
        return pages.errorPage(
            405, "Method Not Allowed", "upload URLs answer GET, HEAD, OPTIONS and PUT"
        ).render(request)

    def _put(self, request, token, filename):
        given = request.getHeader(b"content-length")
        try:
            length = int(given) if given is not None else None
        except ValueError:
            length = None
        contentType = request.getHeader(b"content-type")
        if contentType is not None:
            contentType = contentType.decode("latin-1")
        request.content.seek(0)
        data = request.content.read()
        try:
            self.service.upload(token, filename, length, contentType, data)
        except model.SizeMismatch as e:
            code, brief = (413, "Content Too Large") if e.tooLarge else (400, "Bad Request")
            return pages.errorPage(code, brief, str(e)).render(request)
        except tuple(STATUSES) as e:
            code, brief = STATUSES[type(e)]
            return pages.errorPage(code, brief, str(e)).render(request)
        request.setResponseCode(201)
        return b""

    def _get(self, request, token, filename):
        try:
            slot, data = self.service.download(token, filename)
        except model.SlotNotFound as e:
            return pages.notFound("No Such Resource", str(e)).render(request)
        request.setHeader(
            b"content-type",
            (slot.contentType or model.DEFAULT_CONTENT_TYPE).encode("latin-1"),
        )
        request.setHeader(b"content-disposition", contentDisposition(slot))
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
        return data
