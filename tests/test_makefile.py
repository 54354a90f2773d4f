"""``make system-tools`` for a user who cannot install: it says what to install rather than
failing inside apt-get. Run with a PATH holding no skopeo and an ``id`` that answers as a
user, so nothing is installed whoever runs the tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.served import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_system_tools_without_root_names_what_to_install(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    fake_id.chmod(0o755)
    result = subprocess.run([shutil.which("make"), "-s", "-C", str(ROOT), "system-tools"], env={"PATH": str(bin_dir)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == ("make test needs skopeo: install them (Debian/Ubuntu: sudo apt-get "
                                             "install skopeo), or run 'make system-tools' as root") or \
        result.stderr.splitlines()[0] == ("make test needs skopeo chromium: install them (Debian/Ubuntu: sudo "
                                          "apt-get install skopeo chromium), or run 'make system-tools' as root")
    assert "apt-get update" not in result.stdout + result.stderr
