"""Bytes to text: the encoding found, and why a file is not text."""

import pytest

from index.decoding import Skip, decode_bytes

TEXT = "وزیر امور خارجه وارد مسکو شد."
CP1256_TEXT = "وزير امور خارجه وارد مسكو شد."  # the code page has Arabic yeh, not Persian

# (bytes, text, encoding)
DECODED = [
    (TEXT.encode("utf-8"), TEXT, "utf-8"),
    (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), TEXT, "utf-8 with BOM"),
    (TEXT.encode("utf-16"), TEXT, "utf-16"),
    (CP1256_TEXT.encode("cp1256"), CP1256_TEXT, "Windows-1256"),
]


@pytest.mark.parametrize(("data", "text", "encoding"), DECODED)
def test_decode_bytes(data, text, encoding):
    assert decode_bytes(data) == (text, encoding)


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary" * 100, bytes(range(1, 32)) * 200])
def test_binary_is_no_text(data):
    with pytest.raises(Skip, match="binary"):
        decode_bytes(data)
