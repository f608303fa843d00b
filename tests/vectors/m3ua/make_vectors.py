"""Write the pycrate-built M3UA test vectors of this folder (README.md lists them).

    .venv/bin/python tests/vectors/m3ua/make_vectors.py

Each vector is one M3UA message as pycrate 0.8 (`pycrate_mobile.M3UA`) encodes the
parameters set here; the file holds its hex on one line. The vectors taken from
other projects are not written here. Re-run this only to add vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pycrate_mobile import M3UA

HERE = Path(__file__).parent
UDT = bytes.fromhex((HERE.parent / "sccp" / "udt_gti4_pycrate.hex").read_text().strip())


def write(name: str, message_class: Any, *params: tuple[int, Any]) -> None:
    message = message_class()
    message[1].set_val([{"Tag": tag, "Val": value} for tag, value in params])
    (HERE / f"{name}.hex").write_text(message.to_bytes().hex() + "\n")


def main() -> None:
    # Tags, RFC 4666 §3.2: 0x0004 INFO String, 0x0006 Routing Context, 0x0007
    # Diagnostic Information, 0x0009 Heartbeat Data, 0x000b Traffic Mode Type,
    # 0x000c Error Code, 0x000d Status, 0x0011 ASP Identifier, 0x0012 Affected
    # Point Code, 0x0013 Correlation Id, 0x0210 Protocol Data.
    write("data_pycrate", M3UA.M3UA_DATA, (6, [7]), (0x210, [1, 2, 3, 2, 0, 5, UDT]), (0x13, 99))
    write("aspup_pycrate", M3UA.M3UA_ASPUp, (0x11, 5), (4, "numlookup"))
    write("aspup_ack_pycrate", M3UA.M3UA_ASPUpAck)
    write("aspdn_pycrate", M3UA.M3UA_ASPDown, (4, "bye"))
    write("aspdn_ack_pycrate", M3UA.M3UA_ASPDownAck)
    write("beat_pycrate", M3UA.M3UA_BEAT, (9, b"\x00\x01\x02"))
    write("beat_ack_pycrate", M3UA.M3UA_BEATAck, (9, b"\x00\x01\x02"))
    write("aspac_pycrate", M3UA.M3UA_ASPAct, (0xB, 2), (6, [10, 11]))
    write("aspac_ack_pycrate", M3UA.M3UA_ASPActAck, (0xB, 2), (6, [10, 11]))
    write("aspia_pycrate", M3UA.M3UA_ASPInact, (6, [10]))
    write("aspia_ack_pycrate", M3UA.M3UA_ASPInactAck, (6, [10]))
    write("ntfy_pycrate", M3UA.M3UA_NTFY, (0xD, [1, 3]), (0x11, 5), (6, [10]))
    write("err_pycrate", M3UA.M3UA_ERR, (0xC, 6), (7, b"\x01\x02\x03\x04\x05"))
    write("dava_pycrate", M3UA.M3UA_DAVA, (6, [1]), (0x12, [[0, 1234], [8, 0x0400]]))


if __name__ == "__main__":
    main()
