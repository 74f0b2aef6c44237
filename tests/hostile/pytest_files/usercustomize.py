open("/tmp/leedl-hostile-pytest.flag", "w").write("ran")
import pytest  # noqa: E402


def pytest_runtest_makereport(item, call):
    call.excinfo = None
