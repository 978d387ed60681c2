# -*- test-case-name: tests.e2e.test_ejabberd -*-
"""
The parent of one ejabberd, started by L{tests.e2e.ejabberd}, so that
ejabberd outlives neither the test process nor a failure, and leaves no
process behind, not even one unreaped.

    python ejabberdguard.py DIRECTORY COMMAND [ARGUMENT...]

It runs COMMAND (C{ejabberdctl ... foreground}) as its child and waits for
either of two things: the end of its own standard input, which the test
process holds open as long as it wants ejabberd and which closes when it
closes it or dies, however it dies: then the guard stops ejabberd and
removes DIRECTORY (configuration, data and logs); or the child's end
(ejabberd did not start, or stopped): then the guard leaves DIRECTORY,
whose log says why, to the test process. It exits with the child's exit
code (128 + the signal's number if a signal ended it). The test process
writes C{up} to the guard's input once ejabberd takes connections (L{stop}
says why). The guard ignores SIGINT: a ^C to the test run reaches it as
the end of its input, after the test process has gone.

Stopping: C{ejabberdctl foreground} runs the Erlang VM as the C{ejabberd}
user through C{su}, in a session of its own, so neither a signal to the
child nor to its process group reaches the VM. The guard finds the VM
among its descendants and sends it SIGTERM, on which Erlang/OTP calls
C{init:stop()}, ejabberd's orderly shutdown, without starting a second VM
as C{ejabberdctl stop} would; it kills the tree instead (L{killTree}) if
ejabberd was not up yet or did not stop within L{STOP_LIMIT} seconds.
Processes here are not reaped by anyone else: the guard is a subreaper
(Linux's C{PR_SET_CHILD_SUBREAPER}), so that a descendant orphaned on the
way becomes its child, and it reaps every one before it exits (L{reap}).

Standard library only; it needs C{os.pidfd_open} (Python 3.9, Linux 5.3).
"""

import ctypes
import os
import selectors
import shutil
import signal
import subprocess
import sys

#: Seconds ejabberd may take to stop before it is killed: a bound on a
#: wait, not a timing assumption.
STOP_LIMIT = 30

#: prctl(2)'s option that makes a process the reaper of its orphaned
#: descendants.
PR_SET_CHILD_SUBREAPER = 36


def _parents():
    """
    @return: C{{pid: parent pid}} of every process in C{/proc}.
    """
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields
        # after its closing parenthesis are state, then the parent's id.
        fields = stat[stat.rindex(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def processTree(pid):
    """
    @return: the process ids of C{pid}'s descendants, parents first.
    """
    children = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    tree, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(0), []):
            tree.append(child)
            pending.append(child)
    return tree


def isEjabberd(pid):
    """
    @return: whether process C{pid} is the Erlang VM (C{beam.smp}) running
        ejabberd (C{-s ejabberd}), not some other VM of the start script.
    """
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            arguments = f.read().split(b"\0")
    except OSError:
        return False
    started = any(a == b"-s" and b == b"ejabberd" for a, b in zip(arguments, arguments[1:]))
    return b"beam" in arguments[0] and started


def kill(pids, sig):
    """
    Send C{sig} to each of C{pids} that still exists.
    """
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def killTree(pid, itself=True):
    """
    Kill C{pid}'s descendants and, if C{itself}, C{pid} with SIGKILL, none
    escaping: each is stopped first (SIGSTOP), until a look at C{/proc}
    finds no new one (a stopped process forks no more), so that none is
    orphaned, out of reach, before it is killed.
    """
    stopped = []
    while True:
        tree = ([pid] if itself else []) + processTree(pid)
        new = [p for p in tree if p not in stopped]
        if not new:
            break
        kill(new, signal.SIGSTOP)
        stopped.extend(new)
    kill(stopped, signal.SIGKILL)


def becomeSubreaper():
    """
    Make the orphans among this process's descendants its children.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap():
    """
    Kill what is left below the guard once its child has ended (the VM's
    helpers, say) and reap every process that is its child, orphans taken
    in included.
    """
    killTree(os.getpid(), itself=False)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def stop(child, started):
    """
    Stop ejabberd. Once it is up (C{started}: the test process said so),
    SIGTERM to the VM, ejabberd's orderly shutdown; before that, the VM
    may be creating its database, which a shutdown then leaves hung, and
    holds nothing worth keeping: SIGKILL to the start script's processes.
    If the child has not ended within L{STOP_LIMIT} seconds, SIGKILL.

    @return: the child's exit code.
    """
    if started:
        kill([pid for pid in processTree(os.getpid()) if isEjabberd(pid)], signal.SIGTERM)
        try:
            return child.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            pass
    killTree(child.pid)
    return child.wait()


def guard(directory, command):
    """
    Run C{command} until it ends or standard input does; in the second
    case, stop it and remove C{directory}.

    @return: its exit code.
    """
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    pidfd = os.pidfd_open(child.pid)
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    selector.register(pidfd, selectors.EVENT_READ, "child")
    started = False
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                # The directory stays: its log says why ejabberd ended.
                return child.wait()
            data = os.read(sys.stdin.fileno(), 4096)
            if not data:
                try:
                    return stop(child, started)
                finally:
                    shutil.rmtree(directory, ignore_errors=True)
            started = started or b"up" in data


def main(directory, command):
    """
    Guard C{command}, then reap what is left.

    @return: the exit status for the guard: C{command}'s code, or 128 +
        the number of the signal that ended it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    becomeSubreaper()
    try:
        code = guard(directory, command)
    finally:
        reap()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
