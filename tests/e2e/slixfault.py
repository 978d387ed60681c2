"""
A stand-in scenario for the tests of the scenario runner
(L{tests.e2e.test_slixrun}): no XMPP, only what a scenario's process may
do to the worker that runs it (L{tests.e2e.slixworker}). It imports the
standard library only, so that the runner's tests need no slixmpp.

It takes one JSON argument, C{{"fault": NAME}}, and prints one JSON report
as the scenarios do: C{done}, its process id, its process group's (the
worker's process id) and C{marked}, whether a mark the C{mark} fault
leaves in the process was there already. The faults:

  - C{none}: none;
  - C{mark}: leave a mark on a loaded module and in the environment;
  - C{output}: write to its standard error by descriptor;
  - C{exit}: report C{done} false and exit with status 3;
  - C{crash}: die by SIGKILL;
  - C{hang}: never end;
  - C{killWorker}: kill the worker's process group, itself included
    (SIGKILL): the worker dies during a scenario;
  - C{stopWorker}: stop the worker's process group, itself included
    (SIGSTOP): the worker hangs;
  - C{fifoRead}, C{fifoWrite}: open the named pipe C{settings["fifo"]}
    to read, or to write: each waits until another process opens it the
    other way, so the two end only if they run at the same time.
"""

import json
import os
import signal
import sys


def main():
    settings = json.loads(sys.argv[1])
    fault = settings["fault"]
    report = {
        "done": True,
        "pid": os.getpid(),
        "worker": os.getpgrp(),
        "marked": hasattr(json, "slixfaultMark") or "SLIXFAULT_MARK" in os.environ,
    }
    if fault == "mark":
        json.slixfaultMark = True
        os.environ["SLIXFAULT_MARK"] = "1"
    elif fault == "output":
        os.write(2, b"written to descriptor 2\n")
    elif fault == "exit":
        report["done"] = False
        print(json.dumps(report))
        sys.exit(3)
    elif fault == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault == "hang":
        while True:
            signal.pause()
    elif fault == "killWorker":
        os.killpg(os.getpgrp(), signal.SIGKILL)
    elif fault == "stopWorker":
        os.killpg(os.getpgrp(), signal.SIGSTOP)
    elif fault == "fifoRead":
        with open(settings["fifo"]) as f:
            f.read()
    elif fault == "fifoWrite":
        with open(settings["fifo"], "w") as f:
            f.write("here")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
