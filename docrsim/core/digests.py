"""Content digests as the OCI image spec defines them: ``<algorithm>:<encoded>``."""

from __future__ import annotations

import hashlib
import re

from docrsim.core.errors import DigestMismatch, Invalid

# Algorithms docrsim can compute, with the exact form their hex encoding must take.
_ENCODINGS = {
    "sha256": re.compile(r"^[a-f0-9]{64}$"),
    "sha512": re.compile(r"^[a-f0-9]{128}$"),
}
# The common case in one match; checked first because every manifest load parses many digests.
_SUPPORTED = re.compile(r"^(sha256):[a-f0-9]{64}$|^(sha512):[a-f0-9]{128}$")
# The general grammar from the image spec, to tell "malformed" from "unsupported".
_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class UnsupportedDigest(Invalid):
    """Well-formed, but an algorithm docrsim does not compute."""


def parse(digest: str) -> tuple[str, str]:
    """Split and check a digest; raise Invalid (malformed) or UnsupportedDigest."""
    if isinstance(digest, str) and _SUPPORTED.fullmatch(digest):
        return digest[:6], digest[7:]
    if not isinstance(digest, str) or not _GRAMMAR.fullmatch(digest):
        raise Invalid(f"invalid digest {digest!r}")
    algorithm, encoded = digest.split(":", 1)
    pattern = _ENCODINGS.get(algorithm)
    if pattern is None:
        raise UnsupportedDigest(f"unsupported digest algorithm {algorithm!r}")
    if not pattern.fullmatch(encoded):
        raise Invalid(f"invalid {algorithm} digest {digest!r}")
    return algorithm, encoded


def is_valid(digest: str) -> bool:
    try:
        parse(digest)
    except Invalid:
        return False
    return True


def hasher(algorithm: str = "sha256"):
    if algorithm not in _ENCODINGS:
        raise UnsupportedDigest(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def compute(data: bytes, algorithm: str = "sha256") -> str:
    h = hasher(algorithm)
    h.update(data)
    return f"{algorithm}:{h.hexdigest()}"


def verify(data: bytes, declared: str) -> str:
    """Return the declared digest if ``data`` hashes to it; raise DigestMismatch otherwise."""
    algorithm, _ = parse(declared)
    actual = compute(data, algorithm)
    if actual != declared:
        raise DigestMismatch(f"content hashes to {actual}, not the declared {declared}")
    return declared


def synthetic(label: str) -> str:
    """A stable sha256 digest for a synthetic blob that has a size but no bytes.

    Derived from a label rather than content, so fixtures can describe huge registries
    without materialising anything; the same label always names the same blob.
    """
    return "sha256:" + hashlib.sha256(b"docrsim-synthetic\0" + label.encode()).hexdigest()
