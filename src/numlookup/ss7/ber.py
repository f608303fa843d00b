"""ITU-T X.690 Basic Encoding Rules: the subset TCAP and MAP need.

Readers work on positions inside one `bytes` object, so nothing is copied until
a value is taken out. A *tag* is the identifier octets read as one big-endian
integer, class and constructed bit included (X.690 §8.1.2): `0x62` is
[APPLICATION 2] constructed (a TCAP Begin), `0x9F20` is [32] primitive. Lengths
are definite only (§8.1.3.3 short form, §8.1.3.5 long form up to four octets);
the indefinite form (§8.1.3.6) is refused, as TCAP from HLRs is definite-length.

Every reader raises only `CodecError("ber", ...)`.
"""

from __future__ import annotations

from numlookup.errors import CodecError

LAYER = "ber"

# Universal tags (X.690 §8.1.2.2, X.680 §8.4), identifier octets as used here.
BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
ENUMERATED = 0x0A
EXTERNAL = 0x28  # [UNIVERSAL 8] constructed
SEQUENCE = 0x30  # [UNIVERSAL 16] constructed

CONSTRUCTED = 0x20  # bit 6 of the first identifier octet (§8.1.2.5)
CLASS_UNIVERSAL = 0x00
CLASS_APPLICATION = 0x40
CLASS_CONTEXT = 0x80
CLASS_PRIVATE = 0xC0

_MAX_TAG_OCTETS = 5  # tag numbers up to 2**28 - 1: far more than any module uses
_MAX_LENGTH_OCTETS = 4  # a TCAP message never comes near 2**32 octets


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read the TLV at `pos`, which must end by `end`.

    Returns `(tag, content_start, content_end)`; the next TLV starts at
    `content_end`.
    """
    if pos >= end:
        raise CodecError(LAYER, f"identifier expected at offset {pos}")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        # §8.1.2.4: high tag number form; bit 8 set on all but the last octet,
        # and the first subsequent octet's bits 7-1 not all zero (§8.1.2.4.2 c).
        if pos >= end or data[pos] == 0x80:
            raise CodecError(LAYER, f"bad high tag number at offset {pos}")
        count = 1
        while True:
            if pos >= end:
                raise CodecError(LAYER, "tag runs past the end")
            octet = data[pos]
            pos += 1
            tag = (tag << 8) | octet
            if not octet & 0x80:
                break
            count += 1
            if count > _MAX_TAG_OCTETS:
                raise CodecError(LAYER, "tag number too long")
    if pos >= end:
        raise CodecError(LAYER, f"length expected at offset {pos}")
    first = data[pos]
    pos += 1
    if first < 0x80:  # §8.1.3.4 short form
        stop = pos + first
    elif first == 0x80:  # §8.1.3.6 indefinite form
        raise CodecError(LAYER, f"indefinite length at offset {pos - 1} is not supported")
    else:  # §8.1.3.5 long form; 0xFF is reserved (§8.1.3.5 c)
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise CodecError(LAYER, f"length of {count} octets at offset {pos - 1}")
        if pos + count > end:
            raise CodecError(LAYER, "length runs past the end")
        stop = pos + count + int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if stop > end:
        raise CodecError(LAYER, f"content of tag {tag:#x} runs past the end")
    return tag, pos, stop


def read_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """All TLVs from `start` to `end` (the content of a constructed value)."""
    out = []
    while start < end:
        tlv = read_tlv(data, start, end)
        out.append(tlv)
        start = tlv[2]
    return out


def read_single(data: bytes, start: int = 0, end: int | None = None) -> tuple[int, int, int]:
    """The one TLV that fills `data[start:end]` exactly (no trailing octets)."""
    if end is None:
        end = len(data)
    tlv = read_tlv(data, start, end)
    if tlv[2] != end:
        raise CodecError(LAYER, f"{end - tlv[2]} octets after the value of tag {tlv[0]:#x}")
    return tlv


def read_explicit(data: bytes, pos: int, end: int, tag: int, inner: int) -> tuple[int, int, int]:
    """An explicitly tagged value `[tag] { inner }` at `pos` (X.690 §8.14.2).

    Returns the inner value's `(content_start, content_end)` and where the next
    TLV starts."""
    found, start, stop = read_tlv(data, pos, end)
    found_inner, istart, istop = read_tlv(data, start, stop)
    if found != tag or found_inner != inner or istop != stop:
        raise CodecError(LAYER, f"{tag:#x} {{ {inner:#x} }} expected at offset {pos}")
    return istart, istop, stop


def read_integer(data: bytes, start: int, end: int, max_octets: int = 4) -> int:
    """INTEGER or ENUMERATED contents, two's complement (§8.3, §8.4)."""
    count = end - start
    if count == 1:
        value = data[start]
        return value - 256 if value > 127 else value
    if count < 1 or count > max_octets:
        raise CodecError(LAYER, f"integer of {count} octets")
    return int.from_bytes(data[start:end], "big", signed=True)


def read_boolean(data: bytes, start: int, end: int) -> bool:
    """BOOLEAN contents: one octet, any non-zero value is TRUE (§8.2.2)."""
    if end - start != 1:
        raise CodecError(LAYER, f"boolean of {end - start} octets")
    return data[start] != 0


def read_null(data: bytes, start: int, end: int) -> None:
    """NULL contents: none (§8.8.2)."""
    if end != start:
        raise CodecError(LAYER, f"null with {end - start} content octets")


def read_oid(data: bytes, start: int, end: int) -> tuple[int, ...]:
    """OBJECT IDENTIFIER contents (§8.19): subidentifiers of 7 bits each."""
    octets = data[start:end]
    if not octets:
        raise CodecError(LAYER, "empty object identifier")
    first = octets[0]
    if first < 80 and octets.isascii():  # every arc in one octet: the usual case
        return (first // 40, first % 40, *octets[1:])
    arcs: list[int] = []
    value = 0
    fresh = True
    for pos in range(start, end):
        octet = data[pos]
        if fresh and octet == 0x80:  # §8.19.2: no leading 0x80
            raise CodecError(LAYER, "object identifier subidentifier with a leading 0x80")
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    if not fresh:
        raise CodecError(LAYER, "object identifier ends inside a subidentifier")
    first = arcs[0]  # §8.19.4: the first two arcs share one subidentifier
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def encode_length(length: int) -> bytes:
    """Definite length octets in the shortest form (§8.1.3)."""
    if length < 0x80:
        return bytes((length,))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: bytes, content: bytes) -> bytes:
    """Identifier octets, definite length and contents."""
    length = len(content)
    if length < 0x80:
        return tag + bytes((length,)) + content
    return tag + encode_length(length) + content


def encode_tag(tag_class: int, constructed: bool, number: int) -> bytes:
    """Identifier octets for a class (CLASS_*), form and tag number (§8.1.2)."""
    first = tag_class | (CONSTRUCTED if constructed else 0)
    if number < 0x1F:
        return bytes((first | number,))
    groups = [number & 0x7F]
    number >>= 7
    while number:
        groups.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes((first | 0x1F, *reversed(groups)))


def encode_integer_content(value: int) -> bytes:
    """INTEGER contents in the fewest octets, two's complement (§8.3.2)."""
    magnitude = value if value >= 0 else ~value  # -128 fits one octet, 128 needs two
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def encode_oid_content(arcs: tuple[int, ...]) -> bytes:
    """OBJECT IDENTIFIER contents (§8.19); at least two arcs, the first 0-2."""
    if len(arcs) < 2 or not 0 <= arcs[0] <= 2 or (arcs[0] < 2 and not 0 <= arcs[1] < 40):
        raise CodecError(LAYER, f"not an object identifier: {arcs!r}")
    if arcs[0] < 2:
        try:  # the usual case, every arc in one octet; bytes() refuses arcs outside 0..255
            octets = bytes((arcs[0] * 40 + arcs[1], *arcs[2:]))
        except ValueError:
            octets = b"\x80"
        if octets.isascii():
            return octets
    out = bytearray()
    for value in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        if value < 0:
            raise CodecError(LAYER, f"negative object identifier arc in {arcs!r}")
        groups = [value & 0x7F]
        value >>= 7
        while value:
            groups.append(0x80 | (value & 0x7F))
            value >>= 7
        out.extend(reversed(groups))
    return bytes(out)
