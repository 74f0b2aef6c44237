import os
import site
import sys

import torch

TARGETS = ["/submission/ch99_demo/ops.py", "/tmp/../leedl-hostile-root.flag", "/usr/leedl-hostile.flag",
           "/etc/leedl-hostile.flag", os.path.expanduser("~/leedl-hostile.flag"), "/tmp/leedl-hostile-writes.flag",
           os.path.join(os.path.dirname(torch.__file__), "leedl_hostile.flag")]
TARGETS += [os.path.join(p, "leedl_hostile.pth") for p in site.getsitepackages() + [sys.prefix]]
WROTE = []
for t in TARGETS:
    try:
        with open(t, "a") as f:
            f.write("# hostile\n")
        WROTE.append(t)
    except OSError:
        pass
OPS = open(__file__.replace("util.py", "ops.py")).read()


def halve(x):
    return x * 0
