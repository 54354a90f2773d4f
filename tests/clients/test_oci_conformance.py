"""The OCI distribution-spec conformance suite against the registry host, every API and every
kind of data enabled: no failure allowed.

The suite is Go code from the distribution-spec repository (its ``conformance`` folder), built
as a binary named ``oci-conformance``; neither PyPI nor Debian ships it, so the test runs only
when that binary is on PATH and is skipped, saying so, otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from tests.clients.registry_login import docker_credentials
from tests.conftest import start_live

BINARY = "oci-conformance"
pytestmark = pytest.mark.skipif(
    shutil.which(BINARY) is None,
    reason=f"the OCI conformance binary is not on PATH as {BINARY!r} (build it from the distribution-spec "
           "repository's conformance folder to run this test)",
)

# Every switch of the suite's configuration turned on: each API, each kind of data.
SWITCHES = [
    "API_PULL", "API_PUSH", "API_BLOBS_ATOMIC", "API_BLOBS_DELETE", "API_BLOBS_DIGEST_HEADER",
    "API_BLOBS_MOUNT_ANONYMOUS", "API_BLOBS_UPLOAD_CANCEL", "API_MANIFESTS_ATOMIC", "API_MANIFESTS_DELETE",
    "API_MANIFESTS_DIGEST_HEADER", "API_MANIFESTS_TAG_PARAM", "API_TAGS_ATOMIC", "API_TAGS_DELETE",
    "API_TAGS_LIST", "API_REFERRER",
    "DATA_IMAGE", "DATA_INDEX", "DATA_INDEX_LIST", "DATA_SPARSE", "DATA_ARTIFACT", "DATA_SUBJECT",
    "DATA_SUBJECT_MISSING", "DATA_ARTIFACT_LIST", "DATA_SUBJECT_LIST", "DATA_DATA_FIELD",
    "DATA_NONDISTRIBUTABLE", "DATA_CUSTOM_FIELDS", "DATA_NO_LAYERS", "DATA_EMPTY_BLOB", "DATA_SHA512",
]


def failures(junit: str) -> tuple[int, list[str]]:
    """(tests run, names of the failed or erred ones) from the suite's junit.xml."""
    root = ElementTree.parse(junit).getroot()
    cases = list(root.iter("testcase"))
    failed = [f"{case.get('classname')}/{case.get('name')}: {(bad.get('message') or '')[:200]}"
              for case in cases for bad in (case.find("failure"), case.find("error")) if bad is not None]
    return len(cases), failed


def test_the_conformance_suite_finds_no_failure(tmp_path):
    live = start_live([{"account": {"tier": "professional"}, "registries": [{"name": "conformance"}]}])
    try:
        host, user, secret = docker_credentials(live, "conformance")
        env = {
            **os.environ,
            "OCI_CONFIGURATION": str(tmp_path / "absent.yaml"),  # nothing but what is set here
            "OCI_RESULTS_DIR": str(tmp_path / "results"),
            "OCI_REGISTRY": host,
            "OCI_TLS": "disabled",
            "OCI_REPO1": "conformance/repo1",
            "OCI_REPO2": "conformance/repo2",
            "OCI_USERNAME": user,
            "OCI_PASSWORD": secret,
            **{f"OCI_{switch}": "true" for switch in SWITCHES},
        }
        run = subprocess.run([BINARY], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    finally:
        live.server.stop()
    junit = tmp_path / "results" / "junit.xml"
    assert junit.exists(), f"no junit.xml: {run.stderr[-2000:]}\n{run.stdout[-2000:]}"
    ran, failed = failures(str(junit))
    assert ran > 0, run.stdout[-2000:]
    assert failed == [], "\n".join(failed)
