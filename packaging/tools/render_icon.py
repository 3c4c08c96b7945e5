#!/usr/bin/env python3
"""Renders packaging/desktop/assistant-desktop.svg's shapes to a PNG (no
ImageMagick or librsvg on the build machine). Used once; the PNG is committed.
    python3 packaging/tools/render_icon.py 48 packaging/desktop/assistant-desktop-48.png
"""
import struct, sys, zlib


def cubic(p0, p1, p2, p3, n=24):
    pts = []
    for i in range(1, n + 1):
        t = i / n
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3
        pts.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return pts


SHIELD = [(64, 6), (112, 24), (112, 60)] + cubic((112, 60), (112, 92), (90, 112), (64, 122)) + \
    cubic((64, 122), (38, 112), (16, 92), (16, 60)) + [(16, 24)]


def inside(poly, x, y):
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def in_bubble(x, y):
    if 28 <= x <= 100 and 44 <= y <= 84:
        for cx, cy in ((36, 52), (92, 52), (36, 76), (92, 76)):
            if abs(x - cx) > 0 and (x < 36 or x > 92) and (y < 52 or y > 76):
                if (x - cx) ** 2 + (y - cy) ** 2 <= 64 and abs(x - cx) <= 8 and abs(y - cy) <= 8:
                    return True
        if (x < 36 or x > 92) and (y < 52 or y > 76):
            return False
        return True
    return inside([(48, 84), (62, 84), (48, 96)], x, y)


def color(x, y):
    for cx in (48, 64, 80):
        if (x - cx) ** 2 + (y - 64) ** 2 <= 25:
            return (0x2f, 0x6f, 0xb3, 255)
    if in_bubble(x, y):
        return (255, 255, 255, 255)
    if inside(SHIELD, x, y):
        t = (y - 6) / 116
        return (int(0x2f + (0x1b - 0x2f) * t), int(0x6f + (0x3f - 0x6f) * t),
                int(0xb3 + (0x6b - 0xb3) * t), 255)
    return (0, 0, 0, 0)


def main():
    size, out = int(sys.argv[1]), sys.argv[2]
    ss = 4
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    c = color((px + (sx + 0.5) / ss) * 128 / size, (py + (sy + 0.5) / ss) * 128 / size)
                    for i in range(3):
                        acc[i] += c[i] * c[3]
                    acc[3] += c[3]
            a = acc[3] / (ss * ss)
            rgb = [int(acc[i] / acc[3]) if acc[3] else 0 for i in range(3)]
            row += bytes(rgb + [int(a)])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(out, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
