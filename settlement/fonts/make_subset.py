"""Rebuild NotoSansSC-Regular-GB2312.otf, the CJK font embedded in settlement PDFs.

Usage (needs fontTools, and Debian's fonts-noto-cjk unpacked somewhere):
    python make_subset.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

Keeps ASCII, Latin-1, CJK punctuation, full-width forms and every hanzi of GB 2312
(7,806 code points, about 1.5 MB): enough for tenant names and report labels without the
56 MB package. Characters outside it print as the font's missing-glyph box.
"""

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SIMPLIFIED_CHINESE = 2  # index of "Noto Sans CJK SC" in the collection


def code_points() -> set[int]:
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    chars |= {0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x00B7, 0x2022, 0x20AC, 0xFFE5}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([high, low]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return chars


def main(collection: str) -> None:
    font = TTCollection(collection).fonts[SIMPLIFIED_CHINESE]
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=code_points())
    subsetter.subset(font)
    font.save(Path(__file__).with_name("NotoSansSC-Regular-GB2312.otf"))


if __name__ == "__main__":
    main(sys.argv[1])
