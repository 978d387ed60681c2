"""
Run a slixmpp scenario script of this folder (see L{tests.e2e.slixbase})
in a subprocess, from a trial test.
"""

import json
import os
import sys

from twisted.internet import utils


def serverSettings(running, **settings):
    """
    @return: the settings every scenario needs to reach C{running} (a
        L{mepserver.testing.RunningServer}) over STARTTLS, with C{settings}.
    """
    return dict(
        host="127.0.0.1",
        port=running.c2sPort,
        cafile=running.certificatePath,
        domain=running.domain,
        **settings,
    )


async def runScenario(testCase, script, settings):
    """
    Run C{script} with C{settings} and check that it completed.

    @return: its report.
    """
    path = os.path.join(os.path.dirname(__file__), script)
    out, err, code = await utils.getProcessOutputAndValue(
        sys.executable, [path, json.dumps(settings)], env=os.environ
    )
    lines = out.decode().strip().splitlines()
    report = json.loads(lines[-1]) if lines else {}
    testCase.assertTrue(report.get("done"), f"report={report} stderr={err.decode()[-3000:]}")
    testCase.assertEqual(0, code)
    return report
