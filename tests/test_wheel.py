"""The package as a user installs it: a wheel built from this tree, installed into a fresh
virtual environment, carries the shipped scenarios and serves one by name, with no source tree
(and no fixtures/ folder) in sight."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import requests

from tests.served import ROOT, WAIT

# Built in a copy of the tree, so that a build never writes into the checkout under test.
_IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                  ".hypothesis", "tests", "benchmarks")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``docrsim`` script of a fresh venv holding only the wheel; the dependencies are
    borrowed from the running interpreter's site-packages (a .pth line), so no download is needed
    for them."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_IGNORED, symlinks=True)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert "deprecated" not in built.stderr.lower(), built.stderr  # setuptools' license warning
    (wheel,) = (work / "dist").glob("docrsim-*.whl")
    env_dir = work / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return env_dir / "bin" / "docrsim"


def test_the_installed_package_serves_a_shipped_scenario_by_name(installed, tmp_path):
    where = subprocess.run([str(installed.with_name("python")), "-c", "import docrsim; print(docrsim.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(installed.parents[1]))  # the wheel's copy, not this checkout
    process = subprocess.Popen([str(installed), "serve", "--api-port", "0", "--registry-port", "0", "--clock", "manual",
                                "--fixture", "small-app"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("docrsim ready"):
                break
        api = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("API host:"))
        state = requests.get(f"{api}/_docrsim/state", timeout=WAIT).json()
        assert [r["name"] for r in state["registries"]] == ["acme"]
    finally:
        process.kill()
        process.wait(timeout=WAIT)
        process.stdout.close()
        process.stderr.close()


def test_the_installed_package_lists_its_scenarios(installed, tmp_path):
    listed = subprocess.run([str(installed), "fixture", "list"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=WAIT)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert names == sorted(p.stem for p in (ROOT / "fixtures").glob("*.yaml"))
