"""Field encryption at rest (AES-GCM with key ids) and keyed blind indexes for lookups.

A ciphertext is "kid.nonce.ciphertext" (base64url parts). The key id travels with each value, so
keys can rotate without downtime: new writes use the first key, every listed key still decrypts,
and `rotate()` re-encrypts one value under the current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FieldCipher:
    """Encrypts short secrets and personal data for storage."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("FieldCipher needs at least one key")
        self.current_kid = keys[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        # Blind indexes must not change when encryption keys rotate, so they use a key derived
        # from the oldest configured key (the last one listed); rotate it only with a reindex.
        self._index_key = hashlib.sha256(b"citygate-blind-index:" + keys[-1][1]).digest()

    def encrypt(self, plaintext: str, context: str = "") -> str:
        """Encrypt `plaintext`; `context` (e.g. "citizen.id_number") binds it to its use."""
        nonce = os.urandom(12)
        sealed = self._keys[self.current_kid].encrypt(nonce, plaintext.encode(), context.encode() or None)
        return f"{self.current_kid}.{_b64(nonce)}.{_b64(sealed)}"

    def decrypt(self, token: str, context: str = "") -> str:
        kid, nonce, sealed = token.split(".")
        if kid not in self._keys:
            raise ValueError(f"unknown encryption key id {kid!r}")
        return self._keys[kid].decrypt(_unb64(nonce), _unb64(sealed), context.encode() or None).decode()

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(self.current_kid + ".")

    def rotate(self, token: str, context: str = "") -> str:
        """Re-encrypt a value under the current key (a no-op for values already under it)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context), context)

    def blind_index(self, value: str, purpose: str) -> str:
        """A keyed HMAC of `value` for equality lookups without storing the value."""
        return hmac.new(self._index_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
