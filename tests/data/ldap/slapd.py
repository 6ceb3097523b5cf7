"""A real OpenLDAP ``slapd`` for tests: its own config and database in a temporary folder, the
officials LDIF loaded with ``slapadd``, plain LDAP (with StartTLS) and LDAPS on free loopback
ports, and a test CA generated here whose certificate the clients must verify.

Usage (see tests/functional/test_ldap_adapter.py)::

    with SlapdServer.start(tmp_dir) as slapd:
        slapd.ldap_url, slapd.ldaps_url, slapd.ca_file, slapd.stop(), slapd.pause() ...
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent
BASE_DN = "dc=danang,dc=gov,dc=vn"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PASSWORD = "root-secret-for-tests"  # noqa: S105 - test directory
SERVICE_DN = f"cn=idp-reader,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "service-account-secret"  # noqa: S105 - test directory
OFFICIAL_PASSWORD = "Mat-khau-thu-nghiem-2025"  # noqa: S105 - test directory
SCHEMA_DIR = Path("/etc/ldap/schema")


def find_slapd() -> tuple[str, str] | None:
    """Paths of slapd and slapadd (Debian puts them in /usr/sbin), or None."""
    slapd = shutil.which("slapd") or ("/usr/sbin/slapd" if Path("/usr/sbin/slapd").exists() else None)
    slapadd = shutil.which("slapadd") or ("/usr/sbin/slapadd" if Path("/usr/sbin/slapadd").exists() else None)
    return (slapd, slapadd) if slapd and slapadd else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_test_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 / localhost; returns (ca, cert, key) paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vn-idp test LDAP CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return ca_path, cert_path, key_path


def slapd_conf(folder: Path, cert: Path, key: Path, ca: Path) -> str:
    schemas = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson"))
    schemas += f"\ninclude {HERE / 'ad-lite.schema'}"
    return f"""\
{schemas}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {folder / "slapd.pid"}
argsfile {folder / "slapd.args"}
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
sizelimit 500

database mdb
maxsize 16777216
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder / "db"}
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{BASE_DN}"
ppolicy_use_lockout
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none

database monitor
access to * by dn.exact="{ROOT_DN}" read by * none
"""


@dataclass
class SlapdServer:
    folder: Path
    ldap_port: int
    ldaps_port: int
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None
    binaries: tuple[str, str] = field(default=("slapd", "slapadd"))

    @property
    def ldap_url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @classmethod
    def create(cls, folder: Path, binaries: tuple[str, str], ldif: Path = HERE / "officials.ldif") -> SlapdServer:
        """Write the configuration, load the LDIF (offline) and start slapd."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "db").mkdir()
        ca, cert, key = write_test_pki(folder)
        (folder / "slapd.conf").write_text(slapd_conf(folder, cert, key, ca), encoding="utf-8")
        subprocess.run([binaries[1], "-q", "-f", str(folder / "slapd.conf"), "-l", str(ldif)],
                       check=True, capture_output=True, timeout=30)
        server = cls(folder=folder, ldap_port=free_port(), ldaps_port=free_port(), ca_file=ca, binaries=binaries)
        server.start()
        return server

    def start(self) -> None:
        urls = f"{self.ldap_url}/ {self.ldaps_url}/"
        with (self.folder / "slapd.log").open("ab") as log_file:
            self.process = subprocess.Popen(
                [self.binaries[0], "-f", str(self.folder / "slapd.conf"), "-h", urls, "-d", "0"],
                stdout=subprocess.DEVNULL, stderr=log_file,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "slapd.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"slapd exited with {self.process.returncode}: {log}")
            try:
                for port in (self.ldap_port, self.ldaps_port):
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("slapd did not start listening within 15 s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def pause(self) -> None:
        """Freeze slapd (SIGSTOP): connections are accepted by the kernel but never answered."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)

    def admin(self) -> Any:
        """An ldap3 connection bound as the directory's root (to change entries during a test)."""
        from ldap3 import NONE, Connection, Server

        server = Server("127.0.0.1", port=self.ldap_port, get_info=NONE)
        return Connection(server, ROOT_DN, ROOT_PASSWORD, auto_bind=True)

    @staticmethod
    def completed_operations(admin: Any) -> dict[str, int]:
        """Operations slapd has completed, by kind (``bind``, ``search`` ...), from its monitor
        backend (cn=Monitor), read over ``admin`` (:meth:`admin`; reading binds nothing)."""
        admin.search("cn=Operations,cn=Monitor", "(objectClass=monitorOperation)",
                     attributes=["cn", "monitorOpCompleted"])
        return {str(e["attributes"]["cn"][0]).lower(): int(e["attributes"]["monitorOpCompleted"][0])
                for e in admin.response if e.get("type") == "searchResEntry" and e["attributes"].get("cn")}


def officials_provider_env(slapd: SlapdServer, folder: Path, client_id: str = "hoso", *,
                           roles: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a provider whose officials sign in with this directory: an adapters file
    with the LDAP adapter, and a policy that lets ``client_id`` use it (and nothing else);
    ``roles`` maps more directory groups to roles."""
    adapter = {
        "id": "officials", "type": "ldap", "urls": [slapd.ldaps_url], "ca_file": str(slapd.ca_file),
        "bind_dn": f"cn=idp-reader,ou=services,{BASE_DN}", "bind_password": "service-account-secret",
        "user_base_dn": f"ou=people,{BASE_DN}", "group_base_dn": f"ou=groups,{BASE_DN}",
        "claims": {"name": "cn", "family_name": "sn", "given_name": "givenName", "email": "mail", "vn_unit": "ou"},
        "roles": {"lanh-dao": "leader", "mot-cua": "one-stop-clerk", **(roles or {})},
        "display_name": {"vi": "Tài khoản cán bộ", "en": "Staff account"},
        "connect_timeout": 1.0, "receive_timeout": 2,
    }
    (folder / "adapters.yaml").write_text(json.dumps({"adapters": [adapter]}))
    policies = folder / "policies"
    policies.mkdir()
    (policies / "default.yaml").write_text("version: 1\nadapters: []\nscopes: [openid]\n")
    (policies / f"{client_id}.yaml").write_text(
        f"version: 1\nclient_id: {client_id}\nadapters: [officials]\nscopes: [openid, profile, email, vn_official]\n")
    return {"IDP_DATA_DIR": str(folder / "var"), "IDP_ADAPTERS_FILE": str(folder / "adapters.yaml"),
            "IDP_POLICIES_DIR": str(policies), "IDP_LOGIN_BACKOFF_SECONDS": "0"}
