"""The static half of "must not call": evasions are caught, honest code is not."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from leedl_grader.forbid import scan as forbid

BANNED = ("torch.nn.functional.softplus", "torch.Tensor.softmax", "torch.autograd.functional")
CHAPTER = SimpleNamespace(name="ch99_demo", exercises=[SimpleNamespace(file="ops.py", forbidden=BANNED),
                                                       SimpleNamespace(file="util.py", forbidden=())])


def scan(tmp_path: Path, ops: str, util: str = "") -> str | None:
    (tmp_path / "ops.py").write_text(ops)
    files = ["ops.py"]
    if util:
        (tmp_path / "util.py").write_text(util)
        files.append("util.py")
    return forbid.scan(CHAPTER, tmp_path, files).get("ops.py")


EVASIONS = {
    "direct": "import torch\ndef f(x):\n    return torch.nn.functional.softplus(x)\n",
    "alias": "import torch.nn.functional as F\ndef f(x):\n    return F.softplus(x)\n",
    "from_import": "from torch.nn.functional import softplus as sp\n",
    "star_import": "from torch.nn.functional import *\n",
    "other_path": "import torch\nf = torch.nn.modules.activation.F.softplus\n",
    "assigned_module": "import torch\nm = torch.nn.functional\ny = m.softplus\n",
    "const_getattr": "import torch\nf = getattr(torch.nn.functional, 'softplus')\n",
    "nested_getattr": "import torch\nf = getattr(getattr(torch.nn, 'functional'), 'softplus')\n",
    "built_string_getattr": "import torch.nn.functional as F\nf = getattr(F, 'soft' + 'plus')\n",
    "getattr_passed_around": "import functools, torch\nf = functools.reduce(getattr, ['nn', 'functional'], torch)\n",
    "importlib": "import importlib\nF = importlib.import_module('torch.nn.functional')\n",
    "dunder_import": "F = __import__('torch.nn.functional', fromlist=['x'])\n",
    "eval": "f = eval('torch.nn.functional.softplus')\n",
    "exec": "exec('import torch')\n",
    "torch_ops_aten": "import torch\nf = torch.ops.aten.softplus\n",
    "torch_C": "import torch\nf = torch._C._nn.softplus\n",
    "from_torch_C": "from torch._C import _nn\n",
    "torch_private": "import torch\nf = torch._VF\n",
    "dispatch_mode": "from torch.utils._python_dispatch import _disable_current_modes\n",
    "dispatch_hook": ("import torch\nclass T(torch.Tensor):\n    @classmethod\n"
                      "    def __torch_function__(cls, f, t, a=(), k=None):\n        pass\n"),
    "gc": "import gc\nobjs = gc.get_objects()\n",
    "inspect": "import inspect\nst = inspect.stack()\n",
    "getframe": "import sys\nf = sys._getframe(1)\n",
    "frame_attr": "def f(tb):\n    return tb.tb_frame.f_back\n",
    "sys_modules": "import sys\nF = sys.modules['torch.nn.functional']\n",
    "module_dict": "import torch.nn.functional as F\nf = F.__dict__['sp' + 'x']\n",
    "vars": "import torch.nn.functional as F\nf = vars(F)['softplus']\n",
    "ctypes": "import ctypes\n",
    "subprocess": "import subprocess\n",
    "os_system": "import os\nos.system('true')\n",
    "attrgetter": "import operator, torch\nf = operator.attrgetter('nn.functional.softplus')(torch)\n",
    "jit": "import torch\ncu = torch.jit.CompilationUnit('def f(x):\\n    return x\\n')\n",
    "grader": "import leedl_grader.sandbox.student\n",
    "tensor_method": "def f(x):\n    return x.softmax(-1)\n",
    "tensor_method_getattr": "def f(x):\n    return getattr(x, 'softmax')(-1)\n",
    "banned_module_routine": "import torch.autograd.functional as AF\nj = AF.jacobian\n",
    "threads": "import threading\n",
    "subclasses": "x = ().__class__.__base__.__subclasses__()\n",
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_evasion_is_forbidden(tmp_path, name):
    msg = scan(tmp_path, EVASIONS[name])
    assert msg is not None, name
    assert msg.startswith("forbidden: ops.py line ")


@pytest.mark.parametrize("util", [
    "import torch.nn.functional as F\nsp = F.softplus\n",
    "import importlib\nF = importlib.import_module('torch.nn.' + 'functional')\n",
])
@pytest.mark.parametrize("ops", ["from .util import sp\n", "from . import util\n", "from ch99_demo import util\n",
                                 "from ch99_demo.util import sp\n", "import ch99_demo.util\n"])
def test_alias_through_a_sibling_is_forbidden(tmp_path, ops, util):
    msg = scan(tmp_path, ops, util)
    assert msg is not None and "through util.py" in msg


HONEST = """
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from .util import helper


class Net(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d))
        self.softmax = None

    def forward(self, x: Tensor) -> Tensor:
        w = getattr(self, "weight")
        s = self.softmax
        return F.relu(x * w).sum(dim=-1) + torch.zeros_like(x).mean() + math.log(2.0)


class SGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
                p.add_(p.grad, alpha=-group["lr"])


def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x)) + torch.nn.functional.relu(x) * 0 + helper(x)
"""


def test_honest_code_is_allowed(tmp_path):
    assert scan(tmp_path, HONEST, "import torch\ndef helper(x):\n    return x * 0\n") is None


def test_message_names_the_routine_and_the_line(tmp_path):
    msg = scan(tmp_path, "import torch\n\n\ndef f(x):\n    return torch.nn.functional.softplus(x)\n")
    assert "line 5" in msg and "torch.nn.functional.softplus" in msg


def test_files_without_a_forbidden_list_are_not_scanned(tmp_path):
    (tmp_path / "util.py").write_text("import gc\n")
    assert forbid.scan(CHAPTER, tmp_path, ["util.py"]) == {}
