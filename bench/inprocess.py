"""
What the in-process benchmarks (C{churn_inprocess.py}, C{pep_inprocess.py})
share: each checkout measured in a process of its own, which prints the
minimum and the median of its slices.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def runCheckouts(script, argv, option, count, measure, report):
    """
    Parse C{argv} (C{[--child CHECKOUT] [CHECKOUT ...] [option N]}) and run.

    @param script: the benchmark's file, run again for each checkout.
    @param option: the option that sets the count (C{"--cycles"}, say).
    @param count: its default.
    @param measure: C{measure(checkout, count)} in the child: the sorted
        CPU seconds of each slice, per unit.
    @param report: C{report(checkout, best, median)} in the parent, with
        microseconds per unit.
    """
    argv = list(argv)
    if option in argv:
        index = argv.index(option)
        count = int(argv[index + 1])
        del argv[index:index + 2]
    if argv[:1] == ["--child"]:
        slices = measure(argv[1], count)
        print(f"{1e6 * slices[0]:.1f} {1e6 * slices[len(slices) // 2]:.1f}")
        return
    for checkout in argv or [os.path.dirname(HERE)]:
        checkout = os.path.abspath(checkout)
        output = subprocess.run(
            [sys.executable, script, "--child", checkout, option, str(count)],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        report(checkout, float(output[0]), float(output[1]))
