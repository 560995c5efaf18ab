"""AES-256-CBC for ``E=1`` data frames (reference 2.4).

The key and IV are the ``output.key`` (32 characters) and ``output.iv`` (16 characters) strings of
the subscribe ack, used as UTF-8 bytes, not hex-decoded; the ciphertext is base64; the padding is
PKCS#7; the plaintext is the ``^``-joined fields in UTF-8.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["decrypt", "encrypt"]


def _cipher(key: str, iv: str) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode()))


def decrypt(payload: str, key: str, iv: str) -> str:
    """Plaintext of a base64 AES-256-CBC payload; ``ValueError`` if any step fails."""
    try:
        data = base64.b64decode(payload, validate=True)
        decryptor = _cipher(key, iv).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot decrypt: {exc}") from None


def encrypt(plaintext: str, key: str, iv: str) -> str:
    """The inverse of ``decrypt``: what the server sends in an ``E=1`` frame."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = _cipher(key, iv).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
