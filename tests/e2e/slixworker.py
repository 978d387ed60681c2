"""
The slixmpp scenario worker: one long-lived process that runs the scenario
scripts of this folder for L{tests.e2e.slixrun}, each in a fresh child
forked from it.

Starting Python and importing slixmpp takes most of the time of a short
scenario. The worker does that once; then, for each
scenario, it forks a child that runs the script exactly as
C{python script.py SETTINGS} would (as C{__main__}, with C{sys.argv} set,
the script's folder first on C{sys.path}, its stdout and stderr written
to files at the descriptor level) and reports the child's output and exit
status. A child is a separate process, so a scenario can change no state
of the worker or of a later scenario, and a crash ends only that child.
Each connection is served by a process of its own, forked too, which
runs the child and waits for it: scenarios may overlap.

The worker takes its listening UNIX socket (already bound and listening)
as the descriptor number in C{sys.argv[1]}; with C{--bare} after it, it
loads nothing before serving. Each connection carries one
request, a JSON line::

  {"script": "/abs/path/slixclient.py", "args": ["{...settings...}"],
   "limit": 120}

and gets one JSON line back before the connection is closed::

  {"out": "...", "err": "...", "code": 0}

C{code} is the child's exit status, or minus the signal that ended it. A
child still running after C{limit} seconds gets C{SIGALRM}, whose default
action ends it. The worker exits once its standard input reaches its end:
when the test process closes it, or dies.

Nothing here comes from mepserver.
"""

import importlib
import json
import os
import runpy
import select
import signal
import socket
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def preload():
    """
    Import slixmpp and L{slixbase}, so that a child starts with them
    loaded. Not the plugins: some register stanza classes when imported,
    which would make a scenario's client differ from one run alone; each
    scenario imports the few it registers (a few milliseconds).
    """
    sys.path.insert(0, HERE)
    importlib.import_module("slixmpp")
    importlib.import_module("slixbase")


def runChild(script, args, limit):
    """
    Run C{script} with C{args} in a forked child.

    @return: the report: the child's stdout and stderr, and its exit code.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(script, args, limit, out, err)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "out": out.read().decode("utf-8", "replace"),
            "err": err.read().decode("utf-8", "replace"),
            "code": code,
        }


def _child(script, args, limit, out, err):
    """
    In the child: run the script as C{__main__} and exit with its status,
    as the interpreter would.
    """
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        signal.setitimer(signal.ITIMER_REAL, limit)
        sys.argv = [script] + list(args)
        sys.path[0] = os.path.dirname(script)
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def readRequest(connection):
    """
    @return: the decoded JSON line the test process sent, or L{None} if it
        closed the connection first.
    """
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def handle(connection):
    """
    Answer the request of one connection.
    """
    with connection:
        request = readRequest(connection)
        if request is not None:
            report = runChild(request["script"], request["args"], request["limit"])
            connection.sendall(json.dumps(report).encode("utf-8") + b"\n")


def serve(listener):
    """
    Answer one request per connection, each in a handler process of its
    own, so that scenarios may run at the same time, until standard input
    ends.
    """
    # The kernel reaps the handlers.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready:
            # The test process never writes: this is the end of the input.
            return
        connection, _ = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            code = 1
            try:
                # The handler waits for its scenario's child itself.
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                listener.close()
                handle(connection)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        connection.close()


def main():
    listener = socket.socket(fileno=int(sys.argv[1]))
    # --bare, for the runner's own tests: no slixmpp to load.
    if "--bare" not in sys.argv[2:]:
        preload()
    serve(listener)


if __name__ == "__main__":
    main()
