"""The README's cleanup-job walkthrough, run exactly as written: its files are taken from the
README and tested by pytest in a separate process, as a user's own suite would run them. The
jobs reach docrsim by DOCR's production names, so they run with tests/production (in a
network namespace of their own): tests/production/test_readme_jobs.py."""

from __future__ import annotations

import re
from pathlib import Path


README = Path(__file__).resolve().parents[1] / "README.md"
# A file is a fenced block right after an `<!-- example file: NAME -->` line.
EXAMPLE = re.compile(r"^<!-- example file: (?P<name>[\w.]+) -->\n```\w*\n(?P<code>.*?)^```$", re.M | re.S)


def example_files() -> dict[str, str]:
    files = {match["name"]: match["code"] for match in EXAMPLE.finditer(README.read_text())}
    assert len(files) == len(EXAMPLE.findall(README.read_text())), "two README examples share a name"
    return files


def test_the_readme_holds_the_four_files():
    assert sorted(example_files()) == ["cleanup.py", "cleanup.sh", "test_cleanup.py", "test_cleanup_sh.py"]


def run_user_suite(pytester, test_file: str):
    for name, code in example_files().items():
        pytester.path.joinpath(name).write_text(code)
    # A subprocess, so docrsim's plugin arrives through its entry point as it does for users.
    return pytester.runpytest_subprocess(test_file, "-p", "no:cacheprovider", "-q", timeout=600)
