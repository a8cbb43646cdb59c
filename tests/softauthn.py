"""A software passkey for the tests: an EC P-256 key that answers WebAuthn options as a browser and authenticator do.

It makes real signed data (clientDataJSON, authenticatorData, a "none" attestation
object in CBOR, ECDSA signatures), so the server's own verification (py_webauthn)
runs on it. Its JSON is what @simplewebauthn/browser posts.
"""

import base64
import dataclasses
import hashlib
import json
import os
import struct

import cbor2  # a dependency of webauthn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40  # authenticatorData flags: user present, user verified, attested credential data


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclasses.dataclass
class SoftPasskey:
    """One discoverable credential, made by `create` from registration options."""

    origin: str = "http://localhost:8000"  # the tests' BASE_URL
    key: ec.EllipticCurvePrivateKey = dataclasses.field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = dataclasses.field(default_factory=lambda: os.urandom(16))
    sign_count: int = 0
    user_handle: bytes | None = None
    rp_id: str | None = None

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _authenticator_data(self, flags: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def create(self, options: dict, *, origin: str | None = None) -> str:
        """The registration response (JSON) to `options` (what the server's options route returned)."""
        self.rp_id, self.user_handle = options["rp"]["id"], unb64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = self._authenticator_data(UP | UV | AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation), "transports": ["internal"]},
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })

    def get(self, options: dict, *, origin: str | None = None, count_up: bool = True, user_handle: bytes | None = None,
            verified: bool = True) -> str:
        """The authentication response (JSON) to `options`, signed; the counter goes up by one unless `count_up` is
        False; `verified`: the authenticator verified the user (else a touch only: user present)."""
        if count_up:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._authenticator_data(UP | UV if verified else UP)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data), "signature": b64url(signature),
                "userHandle": b64url(user_handle or self.user_handle),
            },
            "clientExtensionResults": {}, "authenticatorAttachment": "platform",
        })
