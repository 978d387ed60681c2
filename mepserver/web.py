# -*- test-case-name: tests.test_web -*-
"""
What the resources of the HTTP listener share.

Twisted's L{resource.Resource} answers a name it has no child for with
C{NoResource}, deprecated since Twisted 22.10 because its page does not
escape what it is given; every folder of mepserver's URL space answers
with an escaped page of L{twisted.web.pages} instead.
"""

from twisted.web import pages, resource


class Folder(resource.Resource):
    """
    A resource whose children are put in (L{putChild}); any other name
    gets a plain 404 page.
    """

    def getChild(self, name, request):
        return pages.notFound("No Such Resource", "nothing is served at this path")
