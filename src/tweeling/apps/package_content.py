"""What a file in an app package may be called, and the content hash that names a package.

The content hash is what a publisher signs, so it must be injective: two different sets of
files must never give the same hash. Scheme 2 (current, ``tweeling-app/2``) hashes the
canonical JSON array of ``[path, sha256]`` pairs, sorted by path (Unicode code points), with
no whitespace and non-ASCII as UTF-8 (what RFC 8785 writes for an array of strings; Python's
``json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))`` gives the same bytes): JSON
string escaping is injective, so distinct file sets give distinct bytes.
Scheme 1 (``tweeling-app/1``, deprecated) hashed a ``sha256sum``-style text listing of
``"<sha256>  <path>\\n"`` lines: a path holding a line break could forge lines of its own, so
two different file sets could share a listing. Scheme 1 is still verified, but only for
packages whose names pass :func:`check_names` (which refuses every line break), because only
then is its listing unambiguous.

Names are refused when they could mean something else on some machine that extracts them:
control, format (e.g. bidirectional override) and line-separator characters; backslashes and
the other characters Windows forbids (``<>:"|?*``); absolute paths; empty, ``.`` and ``..``
segments; segments ending in a dot or a space (Windows drops those); a name given twice (a
zip can hold two entries of one name); names that differ only by case or Unicode
normalisation (one would overwrite the other on macOS and Windows, so what runs would not be
what was signed); and a name that is both a file and a folder.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping

import orjson

from tweeling.errors import InputFileError

SCHEME = "tweeling-app/2"
LEGACY_SCHEME = "tweeling-app/1"
SCHEMES = (SCHEME, LEGACY_SCHEME)
MAX_NAME_BYTES = 1024
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_NOT_PORTABLE = frozenset('\\<>:"|?*')


def name_problem(name: str) -> str | None:
    """Why ``name`` may not name a file in a package (None when it may)."""
    if not name:
        return "an empty name"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"longer than {MAX_NAME_BYTES} bytes"
    for char in name:
        if unicodedata.category(char) in _INVISIBLE:
            return f"a control or invisible character (U+{ord(char):04X})"
        if char in _NOT_PORTABLE:
            return f"the character {char!r}, which is not portable (a separator or reserved)"
    if name.startswith("/"):
        return "an absolute path"
    segments = name.split("/")
    if "" in segments:
        return "an empty path segment (a leading, trailing or doubled '/')"
    if any(s in (".", "..") for s in segments):
        return "a '.' or '..' path segment"
    if any(s.endswith((".", " ")) for s in segments):
        return "a path segment ending in a dot or a space"
    return None


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def check_names(names: Iterable[str], source: object) -> None:
    """Refuse the first unsafe name, repeated name, case or normalisation twin, or a name that
    is a file and a folder at once; ``source`` names the package in the message."""
    seen: dict[str, str] = {}
    for name in names:
        problem = name_problem(name)
        if problem is not None:
            raise InputFileError(source, f"unsafe file name {name!r} in the package: {problem}")
        folded = _folded(name)
        if folded in seen:
            twin = seen[folded]
            if twin == name:
                raise InputFileError(source, f"the package holds {name!r} twice")
            raise InputFileError(
                source,
                f"the package holds {twin!r} and {name!r}, names that differ only by case or "
                "Unicode normalisation (one would overwrite the other on some systems)",
            )
        seen[folded] = name
    folders = {f.rsplit("/", depth)[0] for f in seen for depth in range(1, f.count("/") + 1)}
    for folded, name in seen.items():
        if folded in folders:
            raise InputFileError(source, f"{name!r} is both a file and a folder in the package")


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """Each file's SHA-256 (hex), by path."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def content_hash(digests: Mapping[str, str], scheme: str = SCHEME) -> str:
    """The content hash of files given by their SHA-256 digests, in ``scheme``."""
    pairs = sorted(digests.items())
    if scheme == SCHEME:
        return hashlib.sha256(orjson.dumps([[name, digest] for name, digest in pairs])).hexdigest()
    if scheme == LEGACY_SCHEME:
        listing = "".join(f"{digest}  {name}\n" for name, digest in pairs)
        return hashlib.sha256(listing.encode("utf-8", "surrogatepass")).hexdigest()
    raise ValueError(f"unknown content hash scheme {scheme!r}")


def signed_message(digest: str, scheme: str = SCHEME) -> bytes:
    """The bytes a publisher signs; the scheme is part of them, so a signature made under one
    scheme never verifies under another."""
    if scheme == LEGACY_SCHEME:
        return f"tweeling-app:{digest}".encode()
    return f"{scheme}:{digest}".encode()
