"""RSA keys and SHA256withRSA (PKCS#1 v1.5), written once for every vendor that signs with them.

WeChat Pay (WECHATPAY2-SHA256-RSA2048) and Alipay (RSA2) sign the same way and differ only in what
they sign and in how their consoles hand out keys: WeChat Pay as PEM files (public keys also as
X.509 platform certificates), Alipay as bare base64 (`as_pem` wraps those). The sandbox plays both
vendors with the same primitives.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def generate_private_key_pem(bits: int = 2048) -> str:
    """A new RSA private key as PKCS#8 PEM."""
    return private_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def as_pem(text: str, kind: str) -> bytes:
    """`text` as PEM: a bare base64 key (as Alipay's console hands them out) wrapped as `kind`
    ("PRIVATE KEY", "PUBLIC KEY"); PEM stays as it is."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    body = "\n".join(text[i:i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode()


@functools.lru_cache(maxsize=64)
def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (parsed once per process: parsing checks the key, ~50 ms)."""
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=256)
def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or a PEM X.509 certificate (platform certificates)."""
    data = pem.encode() if isinstance(pem, str) else pem
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def readable(pem: Any, load: Callable[[Any], object]) -> bool:
    """True when the key loader `load` reads `pem` (a key an operator pasted, checked before it is stored)."""
    try:
        load(pem)
    except (ValueError, TypeError):
        return False
    return True


def private_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    """The key as unencrypted PKCS#8 PEM."""
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()


def public_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    """The public half of a private key as SubjectPublicKeyInfo PEM."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(message: str, private_key: rsa.RSAPrivateKey) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of `message` (UTF-8), base64."""
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(message: str, signature: str, public_key: rsa.RSAPublicKey, *, strict_base64: bool = True) -> bool:
    """True when `signature` (base64) is `public_key`'s SHA256withRSA of `message`.

    With `strict_base64=False` characters outside the base64 alphabet are skipped (Alipay's `sign`
    has always been read so here); WeChat Pay's signature header must be clean base64.
    """
    try:
        raw = base64.b64decode(signature, validate=strict_base64)
    except (binascii.Error, ValueError, TypeError):
        return False
    try:
        public_key.verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
