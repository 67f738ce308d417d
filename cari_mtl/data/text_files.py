"""Reads the text files the commands take (pairs files, protocol files, image lists).

UTF-8 (with or without BOM), NFC-normalised so names match disk names written in NFD (macOS
copies), and a file that is not UTF-8 is one error naming it, not a bare codec message.
"""

import unicodedata
from pathlib import Path


def nfc(text):
    """`text` in Unicode normal form C (composed accents), the form names are compared in."""
    return unicodedata.normalize("NFC", text)


def read_text_file(path, flag):
    """The NFC text of the UTF-8 file `path`; ValueError naming the file and `flag` otherwise."""
    data = Path(path).read_bytes()
    try:
        return nfc(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): check "
                         f"that {flag} names the right file, or re-save it as UTF-8") from None
