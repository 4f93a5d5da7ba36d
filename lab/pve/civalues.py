"""Cloud-init values PVE checks or rewrites when they are written: `sshkeys` (each decoded
line must be a public key `ssh-keygen -l` reads) and `cipassword` (stored as a SHA-256
crypt hash, as PVE::Tools::encrypt_pw makes it, unless it is already a crypt hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from urllib.parse import unquote

from lab.pve.domain import PveError

KEY_TYPES = {"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}
KEY_TYPES |= {t.replace("@openssh.com", "") + "-cert-v01@openssh.com" for t in KEY_TYPES}
CRYPT_HASH = re.compile(r"^\$(?:[156]|2[ay])(\$.+){2}")  # qemu-server leaves these as they are
MASK = "**********"


def validate_ssh_public_keys(encoded: str) -> None:
    """PVE::Tools::validate_ssh_public_keys on the percent-decoded `sshkeys` (a plain die: 500)."""
    for line in unquote(encoded).split("\n"):
        if line.strip() and not _is_public_key(line):
            raise PveError("SSH public key validation error")


def _is_public_key(line: str) -> bool:
    """A line ssh-keygen fingerprints: `[options] type base64 [comment]` with a blob of that type."""
    words = line.split()
    start = next((i for i, w in enumerate(words) if w in KEY_TYPES), None)
    if start is None or start + 1 >= len(words):
        return False
    try:
        blob = base64.b64decode(words[start + 1], validate=True)
    except (binascii.Error, ValueError):
        return False
    fields = _ssh_strings(blob)
    if not fields or fields[0] != words[start].encode():
        return False
    return words[start] != "ssh-ed25519" or (len(fields) == 2 and len(fields[1]) == 32)


def _ssh_strings(blob: bytes) -> list[bytes] | None:
    """The blob as SSH wire strings (uint32 length + bytes), or None when it is not."""
    out, pos = [], 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            return None
        (size,) = struct.unpack(">I", blob[pos:pos + 4])
        pos += 4
        if pos + size > len(blob):
            return None
        out.append(blob[pos:pos + size])
        pos += size
    return out


def hash_password(password: str, seed: str) -> str:
    """`cipassword` as qemu-server stores it: a crypt hash is kept, anything else hashed ($5$).

    PVE salts from the time and its pid; the lab from `seed` (e.g. the vmid and lab time), so
    runs repeat.
    """
    if CRYPT_HASH.match(password):
        return password
    salt = base64.b64encode(hashlib.sha1(seed.encode()).digest()).decode()[:8].replace("+", "X")
    return sha256_crypt(password.encode(), salt)


_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# the order SHA-256 crypt writes the final digest's bytes in, three at a time
_ORDER = ((0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5), (6, 16, 26),
          (27, 7, 17), (18, 28, 8), (9, 19, 29))


def sha256_crypt(password: bytes, salt: str, rounds: int = 5000) -> str:
    """glibc's crypt(3) with a `$5$salt$` setting (Ulrich Drepper's SHA-crypt)."""
    salt_b = salt.encode()[:16]
    sha = hashlib.sha256
    alt = sha(password + salt_b + password).digest()
    a = sha(password + salt_b)
    n = len(password)
    a.update(alt * (n // 32) + alt[:n % 32])
    i = n
    while i:
        a.update(alt if i & 1 else password)
        i >>= 1
    digest = a.digest()
    p = (sha(password * n).digest() * (n // 32 + 1))[:n]
    s = (sha(salt_b * (16 + digest[0])).digest() * (len(salt_b) // 32 + 1))[:len(salt_b)]
    for r in range(rounds):
        c = sha(p if r & 1 else digest)
        if r % 3:
            c.update(s)
        if r % 7:
            c.update(p)
        c.update(digest if r & 1 else p)
        digest = c.digest()
    out = "".join(_b64(digest[x] << 16 | digest[y] << 8 | digest[z], 4) for x, y, z in _ORDER)
    out += _b64(digest[31] << 8 | digest[30], 3)
    return f"$5${salt_b.decode()}${out}"


def _b64(value: int, chars: int) -> str:
    out = ""
    for _ in range(chars):
        out += _ITOA64[value & 0x3F]
        value >>= 6
    return out
