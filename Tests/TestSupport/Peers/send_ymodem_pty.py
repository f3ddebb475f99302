#!/usr/bin/env python3
"""Listening mode's `f`, then YMODEM with PyPI ymodem 1.5.3 over pyserial: an independent
sender for the emulated boards' pseudo-terminals (or a real /dev/ttyACM0).

    send_ymodem_pty.py LINK IMAGE [--kick]

--kick puts a 'C' before the board's output, so that block 0 goes at once (Device OS sends its
first 'C' only after 5 s), as particle-cli did. Prints the board's words after the transfer
(<ACK>, <CAN>, <NAK> for the control bytes), and the timings on stderr. Exit 0 on
"Downloaded file successfully!", 1 on any other verdict, 2 when the board gave no prompt or
refused YMODEM. Adapted from the research script /tmp/ymodem-check/send_ymodem_pty.py."""
import sys
import time

import serial
from ymodem.Protocol import ProtocolType
from ymodem.Socket import ModemSocket

PROMPT = b"Waiting for the binary file to be sent ... (press 'a' to abort)"
link, image = sys.argv[1], sys.argv[2]
kick = "--kick" in sys.argv
# Never 14400 (DFU) or 28800 (listening mode before 6.0.0): the rate means nothing on USB serial.
port = serial.Serial(link, 9600, timeout=0.2)


def drain(quiet=0.3):
    got, end = b"", time.monotonic() + quiet
    while time.monotonic() < end:
        chunk = port.read(4096)
        if chunk:
            got, end = got + chunk, time.monotonic() + quiet
    return got


drain()
port.write(b"f")
said, deadline = b"", time.monotonic() + 5
while PROMPT + b"\r\n" not in said:
    if time.monotonic() > deadline:
        print(f"no prompt after 'f': {said!r}", file=sys.stderr)
        sys.exit(2)
    said += port.read(256)
prompted = time.monotonic()
after = said.split(PROMPT + b"\r\n", 1)[1]
time.sleep(0.15)  # 6.x: CAN x4 and "no longer supported" 100 ms after the prompt
after += port.read(port.in_waiting or 1) if port.in_waiting else b""
if b"\x18" in after or b"no longer supported" in after:
    print(f"the board refuses YMODEM: {after!r}", file=sys.stderr)
    sys.exit(2)

# What followed the prompt belongs to the transfer.
pending = bytearray((b"C" if kick else b"") + after)
first_request = []


def read(size, timeout=1):
    if pending:
        data = bytes(pending[:size])
        del pending[:size]
        return data
    port.timeout = timeout
    data = port.read(size)
    if data and not first_request:
        first_request.append(time.monotonic())
    return data


def write(data, timeout=1):
    port.write_timeout = timeout
    written = port.write(data)
    port.flush()
    return written


modem = ModemSocket(read, write, ProtocolType.YMODEM, packet_size=1024)
sent = modem.send([image])
if first_request:
    print(f"first byte from the receiver {first_request[0] - prompted:.2f} s after the prompt", file=sys.stderr)

# ymodem only writes the closing empty block 0: the ACK and the verdict are read here, in small
# reads (pyserial drops what one read() had gathered when the line hangs up inside it).
verdict, deadline = b"", time.monotonic() + 15
port.timeout = 0.05
hung_up = False
while time.monotonic() < deadline:
    try:
        verdict += port.read(max(1, port.in_waiting))
    except (serial.SerialException, OSError):
        hung_up = True  # the board reset: its line went
        break
    if b"Restarting system to apply firmware update...\r\n" in verdict:
        break
    if any(k in verdict for k in (b"Validation failed", b"Failed", b"Aborted", b"higher than the allowed")) and verdict.endswith(b"\r\n"):
        break
text = verdict.decode(errors="replace")
print(text.replace("\x06", "<ACK>").replace("\x18", "<CAN>").replace("\x15", "<NAK>"))
print(f"sent={sent} hung_up={hung_up}", file=sys.stderr)
sys.exit(0 if sent and "Downloaded file successfully!" in text else 1)
