"""Every file, with or without a must-not-call list: no reaching the grader, the import machinery,
the builtins or other frames, no functions/classes/modules put into imported modules or classes;
plain settings stay legal. And the scan reads a file as Python compiles it."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from leedl_grader.forbid import scan as forbid

CHAPTER = SimpleNamespace(name="ch99_demo",
                          exercises=[SimpleNamespace(name="util.halve", file="util.py", forbidden=())])
BODY = "\n\ndef halve(x):\n    return x / 2\n"


def hits(tmp_path: Path, code: str | bytes) -> dict:
    data = code if isinstance(code, bytes) else (code + BODY).encode()
    (tmp_path / "util.py").write_bytes(data)
    return forbid.scan_exercises(CHAPTER, tmp_path, ["util.py"])


TAMPER = {
    "grader_module": "import leedl_grader.drivers as d\nd.DRIVERS.clear()\n",
    "grader_from": "from leedl_grader import drivers\ndrivers.DRIVERS.clear()\n",
    "sys_modules": "import sys\nsys.modules['leedl_grader.drivers'].DRIVERS.clear()\n",
    "sys_modules_alias": "from sys import modules as m\nm.clear()\n",
    "builtins": "import builtins\nbuiltins.len = lambda x: 0\n",
    "dunder_builtins": "__builtins__['len'] = None\n",
    "importlib": "import importlib\nm = importlib.import_module('leedl_' + 'grader')\n",
    "dunder_import": "m = __import__('leedl_' + 'grader')\n",
    "eval": "x = eval('1')\n",
    "frames": "import sys\ng = sys._getframe(1).f_globals\n",
    "frame_attr": "def f(e):\n    return e.__traceback__.tb_frame.f_back\nf(None)\n",
    "gc": "import gc\nobjs = gc.get_objects()\n",
    "function_globals": "def f():\n    pass\ng = f.__globals__\n",
    "module_function": "import torch\ntorch.allclose = lambda *a, **k: True\n",
    "class_method": "import torch\ntorch.Tensor.__eq__ = lambda a, b: True\n",
    "local_alias_class": "import torch\nT = torch.Tensor\nT.add = print\n",
    "from_import_class": "from torch import Tensor\nTensor.sum = Tensor.mean\n",
    "own_function_in": "import torch.nn.functional as F\ndef mine(x):\n    return x\nF.softplus = mine\n",
    "setattr_module": "import torch\nsetattr(torch, 'allclose', print)\n",
    "setattr_computed": "import torch\nsetattr(torch, 'all' + 'close', print)\n",
    "delattr_module": "import torch\ndelattr(torch, 'allclose')\n",
    "module_dict": "import torch\ntorch.nn.functional.__dict__['relu'] = print\n",
    "vars_module": "import torch\nvars(torch)['relu'] = print\n",
    "function_through_parameter": "import torch\ndef patch(m):\n    m.relu = lambda x: x\npatch(torch)\n",
    "sibling_function": "from . import ops\ndef mine(x):\n    return x\nops.double = mine\n",
    "augmented": "import torch\ntorch.allclose += torch.relu\n",
    "delete": "import torch\ndel torch.allclose\n",
    "getattr_computed_module": "import torch\nf = getattr(torch, 'al' + 'lclose')\n",
}

LEGAL = {
    "cudnn": "import torch\ntorch.backends.cudnn.deterministic = True\ntorch.backends.cudnn.benchmark = False\n",
    "environ": "import os\nos.environ['OMP_NUM_THREADS'] = '1'\nos.environ.setdefault('X', 'y')\n",
    "rcparams": "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 100\nplt.rcParams.update({'a': 1})\n",
    "calls": "import torch\ntorch.manual_seed(0)\ntorch.set_default_dtype(torch.float64)\ntorch.set_num_threads(1)\n",
    "own_objects": ("import torch\nfrom torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
                   "        super().__init__()\n        self.act = nn.ReLU()\n        self.fn = torch.relu\n"
                   "        setattr(self, 'lin', nn.Linear(2, 2))\n"),
    "getattr_self": "class A:\n    def f(self, name):\n        return getattr(self, name, None)\n",
    "numbers": "import torch\ntorch.backends.cuda.matmul.allow_tf32 = False\nimport numpy as np\nnp.random.seed(0)\n",
    "vars_own": "def f(ns):\n    return vars(ns)\n",
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampering_is_refused_in_a_file_without_a_list(tmp_path, case):
    found = hits(tmp_path, TAMPER[case])
    assert "util.halve" in found, f"{case} not caught"
    assert found["util.halve"].startswith("forbidden:") and " line " in found["util.halve"]


@pytest.mark.parametrize("case", sorted(LEGAL))
def test_plain_settings_and_own_objects_stay_legal(tmp_path, case):
    assert hits(tmp_path, LEGAL[case]) == {}, case


def test_the_scan_reads_a_bom_and_a_declared_coding_as_python_does(tmp_path):
    bom = b"\xef\xbb\xbfimport leedl_grader\nleedl_grader.x = 1\n" + BODY.encode()
    assert "util.halve" in hits(tmp_path, bom)  # a str-based parse fails on the BOM and sees nothing
    hidden = "\nimport leedl_grader\nleedl_grader.x = 1\n".replace("\n", "+AAo-")
    utf7 = f"# coding: utf-7\n#{hidden}\n{BODY}".encode()
    as_utf8 = ast.parse(utf7.decode("utf-8"))  # read as UTF-8, the hidden lines are one comment
    assert not any(isinstance(n, ast.Import) for n in ast.walk(as_utf8))
    assert "util.halve" in hits(tmp_path, utf7)
    latin = "# -*- coding: latin-1 -*-\nNAME = 'Lée'\n".encode("latin-1") + BODY.encode()
    assert hits(tmp_path, latin) == {} and forbid.parse_error(tmp_path / "util.py") is None


@pytest.mark.parametrize("data, why", [
    (b"# coding: utf-8\nx = '\xff'\n", "cannot be decoded"),
    (b"# coding: no-such-codec\nx = 1\n", "cannot be decoded"),
    (b"def f(:\n", "SyntaxError"),
])
def test_a_file_python_cannot_compile_gets_a_clear_message(tmp_path, data, why):
    (tmp_path / "util.py").write_bytes(data)
    assert why in forbid.parse_error(tmp_path / "util.py")
