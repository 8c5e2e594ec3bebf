"""HIPS autograd's own test suite, run on riesz through a name-mapping shim
(benchmarks/autograd_shim: autograd's public names pointing at riesz's).

    pip download --no-deps --no-binary :all: autograd==1.9.1 && tar xzf autograd-1.9.1.tar.gz
    python benchmarks/autograd_suite.py autograd-1.9.1/tests

prints each test file's passed/total and the share of autograd's tests that pass. A file
that fails to import counts each of its test functions as failed. Not part of the test
suite: it needs autograd's sources, which riesz does not depend on.
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent


def run(tests):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / "autograd_shim"), str(HERE.parent)]))
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.xml"
        # -c /dev/null: not autograd's own pytest settings (which require coverage plugins)
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
                        "--rootdir", str(tests), "--continue-on-collection-errors", "-W", "ignore", f"--junitxml={report}", str(tests)], env=env, cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        root = ET.parse(report).getroot()
    per_file = {}
    for case in root.iter("testcase"):
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not case.get("classname"):   # a module that did not import: each test function fails
            name = case.get("name").split(".")[-1]
            source = (pathlib.Path(tests) / f"{name}.py").read_text()
            n = len(re.findall(r"^\s*def test_", source, re.M))
            per_file[name] = (0, n)
            continue
        name = case.get("classname").split(".")[-1]
        passed, total = per_file.get(name, (0, 0))
        per_file[name] = (passed + (not failed and not skipped), total + (not skipped))
    return per_file


def main():
    per_file = run(sys.argv[1])
    for name, (passed, total) in sorted(per_file.items()):
        print(f"{name:28s} {passed:4d} / {total:4d}")
    passed = sum(p for p, _ in per_file.values())
    total = sum(t for _, t in per_file.values())
    print(f"{'all':28s} {passed:4d} / {total:4d} = {100 * passed / total:.1f}%")


if __name__ == "__main__":
    main()
