open("/tmp/leedl-hostile-init.flag", "w").write("ran")
