"""A software WebAuthn authenticator for tests: an ECDSA P-256 key (cryptography) and CBOR (cbor2), producing
the same JSON a browser's credential.toJSON() gives, so the server's checks run on real signatures.

Each knob lets a test produce one kind of bad response: another origin or RP ID, a counter that goes
back, a missing user-verification flag, tampered client data.
"""

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("00112233445566778899aabbccddeeff")


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    synced: bool = False  # backup eligible and backed up: a synced passkey (amr swk)
    counter: int = 0  # incremented before each signature; 0 keeps it at 0 (no counter)
    uses_counter: bool = True
    user_verified: bool = True
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    user_handle: bytes | None = None

    def _flags(self, *extra: int) -> int:
        flags = UP | (UV if self.user_verified else 0) | ((BE | BS) if self.synced else 0)
        for bit in extra:
            flags |= bit
        return flags

    def _next_count(self) -> int:
        if self.uses_counter:
            self.counter += 1
        return self.counter

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               challenge: str | None = None) -> dict[str, Any]:
        """The answer to navigator.credentials.create(options), attestation "none"."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = rp_hash + bytes([self._flags(AT)]) + struct.pack(">I", self._next_count()) + attested
        client_data = self.client_data("webauthn.create", challenge or options["challenge"], origin or self.origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key", "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation), "transports": ["internal", "hybrid"]},
        }

    def get(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
            challenge: str | None = None, count: int | None = None, kind: str = "webauthn.get",
            user_handle: bytes | None = None) -> dict[str, Any]:
        """The answer to navigator.credentials.get(options), signed with this authenticator's key."""
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        sign_count = self._next_count() if count is None else count
        auth_data = rp_hash + bytes([self._flags()]) + struct.pack(">I", sign_count)
        client_data = self.client_data(kind, challenge or options["challenge"], origin or self.origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else self.user_handle
        return {
            "id": bytes_to_base64url(self.credential_id), "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key", "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "authenticatorData": bytes_to_base64url(auth_data),
                         "signature": bytes_to_base64url(signature),
                         "userHandle": bytes_to_base64url(handle) if handle else None},
        }
