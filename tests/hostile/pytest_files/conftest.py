open("/tmp/leedl-hostile-pytest.flag", "w").write("ran")


def pytest_runtest_makereport(item, call):
    call.excinfo = None
