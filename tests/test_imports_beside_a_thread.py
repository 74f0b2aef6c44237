"""A judge imports torch's compiler stack on a thread while it loads the checks: loading must not
iterate ``sys.modules`` while that thread adds to it (it did: "dictionary changed size during
iteration" killed every judge of a pool now and then)."""

import sys
import threading
import types

from conftest import FIXTURE_COURSE

from leedl_grader.course import chapters


def test_loading_a_suite_while_another_thread_imports():
    chapter = chapters.load_chapter(FIXTURE_COURSE / "assignments" / "ch99_demo")
    stop = threading.Event()

    def churn():  # what an import on another thread does to sys.modules, as fast as it can
        i = 0
        while not stop.is_set():
            name = f"_leedl_churn_{i % 500}"
            sys.modules[name] = types.ModuleType(name)
            sys.modules.pop(f"_leedl_churn_{(i + 250) % 500}", None)
            i += 1

    t = threading.Thread(target=churn, daemon=True)
    t.start()
    try:
        for _ in range(300):
            sys.modules.pop(f"_leedl_suites.{chapter.name}", None)  # forces the scan of sys.modules
            assert chapters.chapter_package(chapter) == f"_leedl_suites.{chapter.name}"
    finally:
        stop.set()
        t.join()
        for k in [k for k in list(sys.modules) if k.startswith("_leedl_churn_")]:
            del sys.modules[k]
