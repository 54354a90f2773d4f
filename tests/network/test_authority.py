"""docrsim's certificate authority: made once per folder, private, reused, name-constrained."""

from __future__ import annotations

import shutil
import socket
import stat
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from docrsim.network.authority import AuthorityError, CertificateAuthority


def leaf_of(authority: CertificateAuthority) -> x509.Certificate:
    return x509.load_pem_x509_certificates(authority.issue_leaf().certificate_pem)[0]


def verify(authority: CertificateAuthority, certificate: x509.Certificate, name: x509.GeneralName):
    store = Store([authority.certificate])
    return PolicyBuilder().store(store).build_server_verifier(name).verify(certificate, [])


def test_made_once_private_and_reused(tmp_path):
    folder = tmp_path / "ca"
    first = CertificateAuthority.load_or_create(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "ca-key.pem").stat().st_mode) == 0o600
    key_bytes = (folder / "ca-key.pem").read_bytes()
    again = CertificateAuthority.load_or_create(folder)  # a restart
    assert again.certificate == first.certificate
    assert (folder / "ca-key.pem").read_bytes() == key_bytes
    assert CertificateAuthority.load_or_create(tmp_path / "other").certificate != first.certificate


def test_the_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCRSIM_CA_DIR", str(tmp_path / "chosen"))
    assert CertificateAuthority.load_or_create().certificate_path == tmp_path / "chosen" / "ca.pem"
    monkeypatch.delenv("DOCRSIM_CA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert CertificateAuthority.load_or_create().directory == tmp_path / "data" / "docrsim" / "ca"


def test_two_starting_at_once_make_one_ca(tmp_path):
    made = []
    threads = [threading.Thread(target=lambda: made.append(CertificateAuthority.load_or_create(tmp_path)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({authority.certificate for authority in made}) == 1


@pytest.mark.parametrize("name", [x509.DNSName("api.digitalocean.com"), x509.DNSName("registry.digitalocean.com"),
                                  x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))])
def test_leaves_verify_for_every_name_docrsim_answers_to(tmp_path, name):
    authority = CertificateAuthority.load_or_create(tmp_path)
    chain = verify(authority, leaf_of(authority), name)
    assert chain[-1] == authority.certificate


def test_a_leaf_does_not_verify_for_another_name(tmp_path):
    authority = CertificateAuthority.load_or_create(tmp_path)
    with pytest.raises(VerificationError):
        verify(authority, leaf_of(authority), x509.DNSName("example.com"))


def signed_by(authority: CertificateAuthority, name: str) -> x509.Certificate:
    """A server certificate for ``name`` signed with the CA's own key, built as leaves are."""
    from datetime import datetime, timedelta, timezone

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)]))
            .issuer_name(authority.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.certificate.public_key()),
                           critical=False)
            .sign(authority._key, hashes.SHA256()))


def test_the_ca_can_vouch_for_nothing_else(tmp_path):
    """Name constraints: even a certificate signed with docrsim's key fails for another site."""
    authority = CertificateAuthority.load_or_create(tmp_path)
    assert authority.certificate.extensions.get_extension_for_class(x509.NameConstraints).critical
    verify(authority, signed_by(authority, "api.digitalocean.com"), x509.DNSName("api.digitalocean.com"))
    with pytest.raises(VerificationError, match="constraint"):
        verify(authority, signed_by(authority, "example.com"), x509.DNSName("example.com"))


def test_the_bundle_holds_the_system_cas_and_docrsim_once(tmp_path):
    import ssl

    authority = CertificateAuthority.load_or_create(tmp_path)
    CertificateAuthority.load_or_create(tmp_path)
    bundle = authority.bundle_path.read_bytes()
    assert bundle.count(authority.certificate_pem) == 1
    context = ssl.create_default_context(cafile=str(authority.bundle_path))
    assert len(context.get_ca_certs()) > 1  # the system's too, so other sites still verify


def test_an_unusable_folder_is_named_and_left_alone(tmp_path):
    CertificateAuthority.load_or_create(tmp_path)
    (tmp_path / "ca.pem").write_text("not a certificate")
    key = (tmp_path / "ca-key.pem").read_bytes()
    with pytest.raises(AuthorityError, match=r"ca\.pem: not a PEM certificate"):
        CertificateAuthority.load_or_create(tmp_path)
    assert (tmp_path / "ca.pem").read_text() == "not a certificate" and (tmp_path / "ca-key.pem").read_bytes() == key


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path):
    CertificateAuthority.load_or_create(tmp_path / "a")
    CertificateAuthority.load_or_create(tmp_path / "b")
    (tmp_path / "a" / "ca-key.pem").write_bytes((tmp_path / "b" / "ca-key.pem").read_bytes())
    with pytest.raises(AuthorityError, match="not the key of"):
        CertificateAuthority.load_or_create(tmp_path / "a")


def test_a_key_left_without_its_certificate_is_replaced(tmp_path):
    """A crash between writing the key and the certificate leaves no CA: the next start makes one."""
    CertificateAuthority.load_or_create(tmp_path)
    (tmp_path / "ca.pem").unlink()
    assert CertificateAuthority.load_or_create(tmp_path).certificate_path.exists()


def test_a_folder_others_may_write_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with pytest.raises(AuthorityError, match=r"permissions 0o777 are too open .*\(chmod 700 "):
        CertificateAuthority.load_or_create(folder)
    assert not (folder / "ca-key.pem").exists()


def test_a_key_others_may_read_is_refused(tmp_path):
    CertificateAuthority.load_or_create(tmp_path)
    (tmp_path / "ca-key.pem").chmod(0o644)
    with pytest.raises(AuthorityError, match=r"ca-key\.pem: permissions 0o644 are too open"):
        CertificateAuthority.load_or_create(tmp_path)


def test_a_folder_docrsim_cannot_write_is_named(tmp_path):
    import os

    if os.getuid() == 0:
        pytest.skip("root writes into a read-only folder all the same")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(AuthorityError, match="cannot keep docrsim's CA there"):
            CertificateAuthority.load_or_create(tmp_path)
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command, to offer cipher suites in an order of its own")
@pytest.mark.parametrize("first", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_the_clients_order_of_cipher_suites_is_followed(tmp_path, first):
    # Go and curl offer AES-128-GCM first where the CPU has AES instructions: the cheaper one
    # for large layers. OpenSSL's own order would put AES-256-GCM first for every client.
    context = CertificateAuthority.load_or_create(tmp_path / "ca").server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)  # a client that never connects fails the test instead of hanging it
    chosen = []

    def serve():
        connection, _ = listener.accept()
        with context.wrap_socket(connection, server_side=True) as secure:
            chosen.append(secure.cipher()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    others = [s for s in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384") if s != first]
    subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{listener.getsockname()[1]}",
                    "-tls1_3", "-ciphersuites", ":".join([first, *others])],
                   input=b"", capture_output=True, timeout=30)
    thread.join(timeout=30)
    listener.close()
    assert chosen == [first]
