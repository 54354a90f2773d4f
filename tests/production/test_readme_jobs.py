"""The README's cleanup jobs, pydo's and doctl's, as a user's suite runs them (see
tests/test_readme_examples.py): unchanged production code reaching docrsim through its proxy."""

from __future__ import annotations

import shutil

import pytest

from tests.test_readme_examples import run_user_suite


def test_the_pydo_cleanup_job(pytester):
    result = run_user_suite(pytester, "test_cleanup.py")
    result.assert_outcomes(passed=4)


@pytest.mark.skipif(not (shutil.which("doctl") and shutil.which("jq")),
                    reason="doctl and jq are not on the PATH (doctl is not packaged where docrsim's CI installs from)")
def test_the_doctl_cleanup_job(pytester):
    result = run_user_suite(pytester, "test_cleanup_sh.py")
    result.assert_outcomes(passed=3)
