"""Bytes of an article file to text: the encoding found, and why a file is not text.

Apart from index.readers so that each stays short; readers turn `Skip` into a
ReadProblem naming the file (and line).
"""

from __future__ import annotations

import unicodedata

# Not an error in a Windows-1256 Persian file: typography and the joiners and marks.
_CP1256_PLAUSIBLE = frozenset("…‘’“”•–—«»×÷\u200c\u200d\u200e\u200f\xa0\xad")


class Skip(Exception):
    """One file (or line) cannot be read; the message names why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode by a BOM if there is one, else as whichever of UTF-8 and Windows-1256 (common
    for Persian) makes fewer errors, UTF-8 on a tie.

    A UTF-8 file with one bad byte stays UTF-8 (that byte becomes U+FFFD, and
    :func:`read_file` names the file) instead of turning wholly into mojibake.
    Windows-1256 decodes every byte, so its "errors" are characters no Persian text in
    that code page holds: the Latin letters and symbols UTF-8 bytes turn into.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return checked_text(data[3:].decode("utf-8", errors="replace"), data), "utf-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise Skip(f"undecodable UTF-16 text at byte {err.start}") from None
    if b"\x00" in data[:8192]:
        raise Skip("binary file, not text")
    try:
        return checked_text(data.decode("utf-8"), data), "utf-8"
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8", errors="replace")
    utf8_errors = as_utf8.count("\ufffd") - data.count("\ufffd".encode())
    as_cp1256 = data.decode("cp1256", errors="replace")
    cp1256_errors = sum(
        1
        for ch in as_cp1256
        if ord(ch) > 127
        and ch not in _CP1256_PLAUSIBLE
        and not unicodedata.name(ch, "").startswith("ARABIC")
    )
    if utf8_errors <= cp1256_errors:
        text, encoding, errors = as_utf8, "utf-8", utf8_errors
    else:
        text, encoding, errors = as_cp1256, "Windows-1256", cp1256_errors
    if errors > max(16, len(text) // 20):
        raise Skip(f"not UTF-8 or Windows-1256 text ({errors} undecodable characters)")
    return checked_text(text, data), encoding


def checked_text(text: str, data: bytes) -> str:
    if looks_binary(text):
        raise Skip("binary file, not text")
    return text


def replaced_bytes_note(data: bytes, text: str, encoding: str) -> str:
    """A note naming how many bytes became U+FFFD, and where the first was ("" if none)."""
    if not encoding.startswith("utf-8"):
        return ""
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    if replaced <= 0:
        return ""
    first = text.index("\ufffd")
    line = text.count("\n", 0, first) + 1
    return (
        f"{replaced} invalid UTF-8 byte sequence(s) replaced by U+FFFD "
        f"(first on line {line}); check the file's encoding"
    )


def looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls > len(sample) * 0.05
