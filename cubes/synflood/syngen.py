#!/usr/bin/env python3
"""Sends COUNT TCP SYNs to DST:PORT from random source ports, at most PPS a
second (0: as fast as it can), through a raw socket: a small SYN flood
for testing synflood where hping3 is not installed. The SYNs carry the
host's own source address, so the replies come back to it and its
kernel, which has no socket for them, answers them with RSTs. Root only.

    syngen.py DST PORT COUNT [PPS]
"""
import random
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport):
    seq = random.getrandbits(32)
    # data offset 5 words, flags SYN, window 64240
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    return hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    dst, dport, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pps = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    # The source address the kernel will put in the IP header.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((dst, dport))
    src = probe.getsockname()[0]
    probe.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    start = time.monotonic()
    for i in range(count):
        s.sendto(syn(src, dst, random.randint(1024, 65535), dport), (dst, 0))
        if pps > 0:
            ahead = start + (i + 1) / pps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    print(count)


if __name__ == "__main__":
    main()
