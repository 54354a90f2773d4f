"""Digests: ``<algorithm>:<hex>`` as the OCI image spec defines them."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docrsim.core import digests
from docrsim.core.errors import DigestMismatch, Invalid

HELLO_SHA256 = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256("hello")
EMPTY_SHA512 = (
    "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)  # sha512(b"")


def test_compute_sha256_of_a_known_value():
    assert digests.compute(b"hello") == HELLO_SHA256


def test_compute_sha512_of_a_known_value():
    assert digests.compute(b"", "sha512") == EMPTY_SHA512


def test_compute_refuses_an_algorithm_it_does_not_know():
    with pytest.raises(digests.UnsupportedDigest):
        digests.compute(b"x", "md5")


@pytest.mark.parametrize("digest, algorithm", [(HELLO_SHA256, "sha256"), (EMPTY_SHA512, "sha512")])
def test_parse_splits_algorithm_and_hex(digest, algorithm):
    assert digests.parse(digest) == (algorithm, digest.split(":", 1)[1])
    assert digests.is_valid(digest)


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "sha256",
        "sha256:",
        ":" + "a" * 64,
        "sha256:" + "a" * 63,  # too short
        "sha256:" + "a" * 65,  # too long
        "sha256:" + "A" * 64,  # upper-case hex is not canonical
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,  # a sha256-length value under sha512
        "SHA256:" + "a" * 64,  # algorithm names are lower case
        "sha256:" + "a" * 64 + "\n",  # trailing newline
        "sha256 :" + "a" * 64,
        " sha256:" + "a" * 64,
        None,
        42,
        b"sha256:" + b"a" * 64,
    ],
)
def test_malformed_digests_are_invalid_but_not_unsupported(digest):
    with pytest.raises(Invalid) as caught:
        digests.parse(digest)
    assert not isinstance(caught.value, digests.UnsupportedDigest)
    assert not digests.is_valid(digest)


@pytest.mark.parametrize("digest", ["md5:d41d8cd98f00b204e9800998ecf8427e", "sha384:" + "a" * 96, "blake3:abc"])
def test_well_formed_digests_of_other_algorithms_are_unsupported(digest):
    with pytest.raises(digests.UnsupportedDigest, match="unsupported digest algorithm"):
        digests.parse(digest)


def test_verify_returns_the_declared_digest_when_content_matches():
    assert digests.verify(b"hello", HELLO_SHA256) == HELLO_SHA256
    assert digests.verify(b"", EMPTY_SHA512) == EMPTY_SHA512


def test_verify_refuses_content_that_hashes_differently():
    with pytest.raises(DigestMismatch) as caught:
        digests.verify(b"hellO", HELLO_SHA256)
    # The message says what the content really hashes to.
    assert hashlib.sha256(b"hellO").hexdigest() in caught.value.message


def test_verify_refuses_a_malformed_or_unsupported_declared_digest():
    with pytest.raises(Invalid):
        digests.verify(b"hello", "sha256:nothex")
    with pytest.raises(digests.UnsupportedDigest):
        digests.verify(b"hello", "md5:5d41402abc4b2a76b9719d911017c592")


def test_synthetic_digests_are_stable_valid_and_distinct():
    a = digests.synthetic("layer-a")
    assert a == digests.synthetic("layer-a")
    assert a != digests.synthetic("layer-b")
    assert digests.is_valid(a)
    # Not the digest of the label itself: a synthetic blob must not collide with real content.
    assert a != digests.compute(b"layer-a")


@given(st.binary(max_size=4096))
def test_same_bytes_give_the_same_digest(data):
    assert digests.compute(data) == digests.compute(bytes(bytearray(data)))
    assert digests.compute(data, "sha512") == digests.compute(bytes(data), "sha512")


@given(st.binary(max_size=4096), st.sampled_from(["sha256", "sha512"]))
def test_digest_matches_hashlib_and_verifies(data, algorithm):
    expected = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    assert digests.compute(data, algorithm) == expected
    assert digests.parse(expected) == (algorithm, expected.split(":")[1])
    assert digests.verify(data, expected) == expected


@given(st.binary(min_size=1, max_size=512), st.binary(min_size=1, max_size=512))
def test_verify_refuses_any_other_content(data, other):
    if data == other:
        return
    with pytest.raises(DigestMismatch):
        digests.verify(other, digests.compute(data))
