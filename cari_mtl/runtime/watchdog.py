"""A watchdog in a child process: kills this process (after printing a line) unless cancelled in time.

TensorFlow's waits for the other workers (the strategy connecting to the cluster, the shutdown
barrier) block inside C++ while holding Python's lock, so neither a thread nor a signal handler of
the waiting process can run; a separate process can. The child ends quietly when cancelled or when
the watched process exits (its stdin pipe closes).
"""

import os
import select
import signal
import subprocess
import sys


class Watchdog:
    """Started on creation; dropping the object does not cancel it (subprocess keeps the Popen of a
    running child, and so the pipe, alive)."""

    def __init__(self, seconds, line=""):
        self._child = subprocess.Popen([sys.executable, "-S", __file__, str(os.getpid()), str(seconds), line],
                                       stdin=subprocess.PIPE)

    def cancel(self):
        self._child.stdin.close()
        self._child.wait()


def watch(pid, seconds, line):
    ready, _, _ = select.select([sys.stdin], [], [], seconds)
    if ready:
        return
    if line:
        print(line, file=sys.stderr, flush=True)
    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    watch(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
