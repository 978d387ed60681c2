"""
A slixmpp client in a subprocess that uploads a file with HTTP File Upload
(XEP-0363), for tests/e2e/test_upload.py and the ejabberd reference tier.

It takes one JSON argument:

  {"host": "127.0.0.1", "port": 5222, "cafile": "...", "domain": "localhost",
   "jid": "romeo@localhost", "password": "...", "filename": "...",
   "content": "...", "contentType": "..."}

logs in over STARTTLS, lets the xep_0363 plugin discover the upload service
(disco#items of the domain, then each item's disco#info) and upload the
content (UTF-8) with its aiohttp PUT. It prints one JSON object: the
service found, its max-file-size and the GET URL, then exits 0 if every
step completed (1 otherwise).
"""

import io

import slixbase

TIMEOUT = slixbase.TIMEOUT
NS_DATA = "jabber:x:data"
NS_UPLOAD = "urn:xmpp:http:upload:0"


def maxFileSize(info):
    """
    @return: the max-file-size of the service's XEP-0128 form for
        C{urn:xmpp:http:upload:0} (XEP-0363 section 3), or None. A service
        may give other forms too (ejabberd gives one for the legacy
        C{urn:xmpp:http:upload} first), so the form is chosen by its
        FORM_TYPE.
    """
    for form in info.xml.findall(f"{{{NS_DATA}}}x"):
        fields = {
            field.get("var"): [value.text for value in field.findall(f"{{{NS_DATA}}}value")]
            for field in form.findall(f"{{{NS_DATA}}}field")
        }
        if fields.get("FORM_TYPE") == [NS_UPLOAD]:
            values = fields.get("max-file-size")
            return values[0] if values else None
    return None


async def scenario(settings, report):
    client = slixbase.makeClient(
        settings["jid"], settings["password"], settings, ("xep_0030", "xep_0363")
    )
    await slixbase.logIn({"romeo": client}, settings, available=False)

    upload = client["xep_0363"]
    info = await upload.find_upload_service(timeout=TIMEOUT)
    report["service"] = str(info["from"])
    report["maxFileSize"] = maxFileSize(info["disco_info"])
    data = settings["content"].encode("utf-8")
    report["url"] = await upload.upload_file(
        settings["filename"],
        size=len(data),
        content_type=settings["contentType"],
        input_file=io.BytesIO(data),
        timeout=TIMEOUT,
    )
    client.disconnect()
    report["done"] = True


if __name__ == "__main__":
    slixbase.main(scenario)
