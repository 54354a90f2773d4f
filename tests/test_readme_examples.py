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


def test_the_shell_job_stops_at_once_without_its_tools(tmp_path):
    """POSIX sh has no pipefail: without its checks the script would poll an empty status until
    it gave up (about 120 rounds), since a missing doctl fails inside pipes."""
    import subprocess

    script = tmp_path / "cleanup.sh"
    script.write_text(example_files()["cleanup.sh"])
    bin_dir = tmp_path / "bin"  # the shell's own tools, but neither doctl nor jq
    bin_dir.mkdir()
    job = subprocess.run(["/bin/sh", str(script)], env={"PATH": str(bin_dir)}, capture_output=True, text=True,
                         timeout=30)
    assert job.returncode == 2
    assert job.stderr == "cleanup.sh: doctl is not on the PATH\n" and job.stdout == ""
