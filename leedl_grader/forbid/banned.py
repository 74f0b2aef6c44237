"""What the static scan refuses: the names that could hide a forbidden call, and those that could
reach the grader's machinery. :mod:`.scanner` applies them; the lists are data, read nowhere else."""

DYNAMIC_MODULES = ("importlib", "gc", "ctypes", "inspect", "builtins", "marshal", "pickle", "types", "code",
                   "codeop", "runpy", "imp", "pkgutil", "dis", "traceback", "leedl_grader", "subprocess",
                   "multiprocessing", "threading", "_thread", "concurrent", "pty", "_ctypes", "cffi")
DYNAMIC_NAMES = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "__import__": "__import__()",
                 "globals": "globals()", "vars": "vars()", "locals": "locals()", "__builtins__": "__builtins__",
                 "breakpoint": "breakpoint()"}
# Ways to reach an op or the grader's machinery without naming it: private torch namespaces
# (``torch._C._nn.softplus`` is ``F.softplus``), the dispatcher and its modes (which could
# switch the run-time tracer off), compilers that run code outside it, other processes/threads.
DYNAMIC_PREFIXES = ("torch.ops", "torch._", "torch.library", "torch.utils._python_dispatch", "torch.overrides",
                    "torch.utils.cpp_extension", "torch.jit", "torch.compile", "torch.export", "torch.fx",
                    "torch.hub", "torch.package", "torch.multiprocessing", "sys._getframe", "sys.modules",
                    "sys.settrace", "sys.setprofile", "sys._current_frames", "operator.attrgetter",
                    "operator.methodcaller", "numpy.ctypeslib")
DYNAMIC_STARTS = ("os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.system", "os.popen")
PRIVATE_ALLOWED = {"torch._assert"}
FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
               "__globals__", "__subclasses__", "__builtins__", "__code__", "__closure__", "__dict__",
               "__getattribute__", "__getattr__", "__loader__", "__spec__", "__self__", "__wrapped__",
               "__reduce__", "__reduce_ex__"}
HOOK_DEFS = {"__torch_dispatch__", "__torch_function__"}
DYNAMIC_CALLS = ("getattr", "setattr", "delattr", "hasattr")
# Every file, with or without a must-not-call list: nothing may reach the grader's modules, the
# import machinery, the builtins or other frames (from there any module or function can be
# replaced), nor put a function, class or module in place of an attribute of an imported module
# or class. Plain settings stay legal: ``torch.backends.cudnn.deterministic = True``,
# ``os.environ[k] = v``, ``plt.rcParams[k] = v``, calls such as ``torch.manual_seed(0)``.
TAMPER_MODULES = ("leedl_grader", "builtins", "importlib", "gc", "inspect", "ctypes", "_ctypes", "imp", "runpy",
                  "pkgutil", "zipimport", "marshal", "types", "code", "codeop")
TAMPER_NAMES = ("sys.modules", "sys._getframe", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache",
                "sys.settrace", "sys.setprofile", "sys._current_frames", "sys.addaudithook")
TAMPER_BUILTINS = {"eval": "eval()", "exec": "exec()", "compile": "compile()", "__import__": "__import__()",
                   "__builtins__": "__builtins__", "breakpoint": "breakpoint()"}
TAMPER_ATTRS = {"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame", "cr_frame", "ag_frame",
                "__globals__", "__subclasses__", "__builtins__", "__code__", "__closure__", "__loader__", "__spec__",
                "__import__"}
