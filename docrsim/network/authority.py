"""docrsim's own certificate authority: made once per folder, kept, reused.

A user trusts it once (or points a client at its bundle) and it stays trusted across restarts,
so its key and certificate live on disk: the folder is the user's own (0700) and the key is
readable by its owner only (0600). Unlike a CA shipped inside a package, each user's is made on
their machine, and it is *name-constrained*: it can only vouch for DOCR's two production host
names and loopback, so even a leaked key cannot impersonate any other site to a client that
checks constraints (Go, OpenSSL, NSS all do).

Leaf certificates are issued afresh at each start, in memory, and are never written to disk
except as a private temporary file the TLS library loads and forgets.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from docrsim.files import data_directory, write_atomically
from docrsim.network import NetworkSetupError
from docrsim.network.production import NAMES

CERTIFICATE_FILE = "ca.pem"
KEY_FILE = "ca-key.pem"
BUNDLE_FILE = "bundle.pem"
_LOCK_FILE = ".lock"

# What a leaf may name: the production hosts and loopback, nothing else.
LEAF_DNS_NAMES = (*NAMES, "localhost")
LEAF_IP_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_PERMITTED = [
    *(x509.DNSName(name) for name in LEAF_DNS_NAMES),
    x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
    x509.IPAddress(ipaddress.ip_network("::1/128")),
]
CA_LIFETIME = timedelta(days=10 * 365)
# Some platforms (Apple's) refuse server certificates valid for longer than 398 days.
LEAF_LIFETIME = timedelta(days=397)
_BACKDATE = timedelta(days=1)  # a client whose clock runs a little behind still accepts it


class AuthorityError(NetworkSetupError):
    """The folder holds something that is not a usable docrsim CA; nothing was changed."""


def default_directory() -> Path:
    """``$DOCRSIM_CA_DIR``, else ``$XDG_DATA_HOME/docrsim/ca`` (``~/.local/share/docrsim/ca``)."""
    if os.environ.get("DOCRSIM_CA_DIR"):
        return Path(os.environ["DOCRSIM_CA_DIR"]).expanduser()
    return data_directory() / "ca"


@dataclass(frozen=True)
class Leaf:
    certificate_pem: bytes
    key_pem: bytes


class CertificateAuthority:
    def __init__(self, directory: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey):
        self.directory = directory
        self.certificate = certificate
        self._key = key

    @property
    def certificate_path(self) -> Path:
        return self.directory / CERTIFICATE_FILE

    @property
    def bundle_path(self) -> Path:
        return self.directory / BUNDLE_FILE

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    # -- made once, then loaded -----------------------------------------------------------------
    @classmethod
    def load_or_create(cls, directory: str | os.PathLike | None = None) -> "CertificateAuthority":
        """The CA kept in ``directory`` (the default folder without one), made there first if
        the folder has none. Two docrsims starting at once make one CA between them."""
        folder = Path(directory).expanduser() if directory is not None else default_directory()
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _check_private(folder)
            with open(folder / _LOCK_FILE, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                # The certificate is written last, so a folder without one holds no finished CA.
                if not (folder / CERTIFICATE_FILE).exists():
                    _write_new(folder)
                authority = cls._load(folder)
            authority.write_bundle()
        except OSError as exc:  # a read-only folder, a full disk...
            where = exc.filename or folder
            raise AuthorityError(f"{where}: cannot keep docrsim's CA there: {exc.strerror or exc}") from None
        return authority

    @classmethod
    def _load(cls, folder: Path) -> "CertificateAuthority":
        cert_file, key_file = folder / CERTIFICATE_FILE, folder / KEY_FILE
        for path in (cert_file, key_file):
            if not path.exists():
                raise AuthorityError(f"{path}: missing, though {folder} holds the rest of a CA; "
                                     f"remove the folder's CA files to make a new CA")
        try:
            certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
        except ValueError as exc:
            raise AuthorityError(f"{cert_file}: not a PEM certificate ({exc})") from None
        try:
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise AuthorityError(f"{key_file}: not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
            raise AuthorityError(f"{key_file}: not the key of {cert_file}")
        _check_private(key_file)
        return cls(folder, certificate, key)

    # -- what it issues -------------------------------------------------------------------------
    def issue_leaf(self) -> Leaf:
        """A server certificate for every name docrsim answers to (``LEAF_DNS_NAMES`` and
        loopback), valid from a day ago for ``LEAF_LIFETIME`` or until the CA ends."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(timezone.utc)
        not_after = min(now + LEAF_LIFETIME, self.certificate.not_valid_after_utc)
        names = [x509.DNSName(name) for name in LEAF_DNS_NAMES] + [x509.IPAddress(ip) for ip in LEAF_IP_ADDRESSES]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LEAF_DNS_NAMES[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return Leaf(
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM) + self.certificate_pem,
            key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
        )

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context holding a fresh leaf (and the CA, as its chain)."""
        leaf = self.issue_leaf()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        # The client's order of cipher suites, not OpenSSL's: Go, curl and browsers put
        # AES-128-GCM first on machines with AES instructions, the cheapest for a 200 MB layer;
        # every suite either side offers by default is one a modern TLS may use.
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        # load_cert_chain reads files only: a private temporary one, gone once loaded.
        with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".leaf-", suffix=".pem") as file:
            file.write(leaf.key_pem + leaf.certificate_pem)
            file.flush()
            context.load_cert_chain(file.name)
        return context

    # -- what clients trust ---------------------------------------------------------------------
    def write_bundle(self) -> Path:
        """``bundle.pem``: the system's CAs and this one, for SSL_CERT_FILE and the like, so a
        client pointed at it still verifies every other site it talks to."""
        system = _system_bundle()
        ours = self.certificate_pem
        content = (system.replace(ours, b"").rstrip(b"\n") + b"\n" if system.strip() else b"") + ours
        path = self.bundle_path
        if path.exists() and path.read_bytes() == content:
            return path
        write_atomically(path, content, 0o644)
        return path


def _check_private(path: Path) -> None:
    """The CA folder and key must be the user's alone, as ssh insists for its keys: a CA that
    someone else could read or replace is not docrsim's to trust."""
    status = path.stat()
    if status.st_uid != os.getuid():
        raise AuthorityError(f"{path}: owned by another user (uid {status.st_uid}); docrsim keeps its CA "
                             f"in a folder of its own user")
    wide = status.st_mode & (0o022 if path.is_dir() else 0o077)
    if wide:
        raise AuthorityError(f"{path}: permissions {oct(status.st_mode & 0o777)} are too open for docrsim's CA "
                             f"(chmod {'700' if path.is_dir() else '600'} {path})")


def _write_new(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "docrsim"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"docrsim local CA ({os.uname().nodename})")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=_PERMITTED, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    # The key first, 0600 from its creation (never briefly readable by others), then the
    # certificate; each is renamed into place whole.
    write_atomically(folder / KEY_FILE, key_pem, 0o600)
    write_atomically(folder / CERTIFICATE_FILE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _system_bundle() -> bytes:
    """The CAs this machine trusts by default (OpenSSL's compiled-in file, which an
    SSL_CERT_FILE pointing at our own bundle does not change), else certifi's, else none."""
    candidates = [ssl.get_default_verify_paths().openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"]
    try:
        import certifi

        candidates.append(certifi.where())
    except ImportError:
        pass
    for candidate in candidates:
        try:
            return Path(candidate).read_bytes()
        except OSError:
            continue
    return b""
