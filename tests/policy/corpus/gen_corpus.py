#!/usr/bin/env python3
"""Generates detectors.tsv: a labelled corpus for the sensitive-data detectors.

Each line is   LABEL <TAB> VALUE <TAB> TEXT
  LABEL  a detector name (a positive: VALUE occurs in TEXT and must be found
         with exactly that span) or "none:<detector>" (a tricky negative aimed
         at that detector: nothing in TEXT may be found).
  TEXT   with \\n and \\t escaped.
Deterministic (fixed seed); run it again after changing it:
  python3 tests/policy/corpus/gen_corpus.py > tests/policy/corpus/detectors.tsv
"""
import random

R = random.Random(20261129)
rows = []


def add(label, value, text):
    assert "\t" not in text and value in text, (label, value, text)
    esc = lambda s: s.replace("\\", "\\\\").replace("\n", "\\n")
    rows.append((label, esc(value), esc(text)))


CONTEXTS = [
    "{}", "Please contact {} about the invoice.", "Reach me at {}.", "Kontakt: {}",
    "({})", "<{}>", "\"{}\"", "value={}", "Sent to: {}\nThanks", "{} is on file",
    "Номер {} в системе", "Ref: {};", "see {}, then reply", "→ {} ←", "[{}]",
    "Detalles: {}. Gracias", "Le numéro {} est noté", "値は {} です", "{}\n", "x {} y",
]
GLUED_CJK = ["联系{}谢谢", "電話{}です", "请打{}。"]


def ctx(value, glued_ok=False):
    pool = CONTEXTS + (GLUED_CJK if glued_ok else [])
    return R.choice(pool).format(value)


# ---------------------------------------------------------------- e-mail
FIRST = ["john", "jane", "maria", "li.wei", "o.brien", "anna-lena", "max", "sam_k", "j.r.r",
         "zoë", "josé", "björn", "x", "info", "billing", "first.last", "a1b2", "user+tag",
         "no-reply", "team.ops"]
DOMAINS = ["example.com", "example.org", "mail.example.co.uk", "corp.example.de", "example.io",
           "sub.domain.example.museum", "uni-example.edu", "example.fr", "xn--bcher-kva.example",
           "EXAMPLE.COM", "example.travel", "a.b.c.example.net"]
for i in range(100):
    local = R.choice(FIRST)
    if R.random() < 0.3:
        local += str(R.randint(1, 999))
    email = f"{local}@{R.choice(DOMAINS)}"
    add("email", email, ctx(email, glued_ok=True))
EMAIL_NEG = [
    "root@localhost", "admin@intranet", "@handle", "follow @someone today", "a@b.c",
    "icon@2x.png", "logo@3x.jpg", "john(at)example.com", "john at example dot com",
    "user@-bad.com", "user@bad-.com", "user@123.456", "version@2.0", "a..b@example.com",
    "user.@example.com", "@example.com", "example.com", "name@", "foo@@bar.com",
    "price: 5 @ 10.00", "user@example", "sprite@2x.webp", "mailto:", "a@b",
    "background@0.5x.svg", "support[at]example.org", "me @ example.com",
]
for i in range(100):
    v = EMAIL_NEG[i % len(EMAIL_NEG)]
    add("none:email", "", ctx(v))


# ---------------------------------------------------------------- SSN
def ssn(sep="-"):
    while True:
        a = R.randint(1, 899)
        if a != 666:
            break
    return f"{a:03d}{sep}{R.randint(1, 99):02d}{sep}{R.randint(1, 9999):04d}"


for i in range(80):
    v = ssn("-" if i % 4 else " ")
    add("ssn", v, ctx(v, glued_ok=True))
for i in range(80):
    k = i % 10
    if k == 0:
        v = f"000-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"
    elif k == 1:
        v = f"666-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"
    elif k == 2:
        v = f"{R.randint(900, 999)}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"
    elif k == 3:
        v = f"{R.randint(1, 899):03d}-00-{R.randint(1, 9999):04d}"
    elif k == 4:
        v = f"{R.randint(1, 665):03d}-{R.randint(1, 99):02d}-0000"
    elif k == 5:
        v = f"{R.randint(10000, 99999)}-{R.randint(1000, 9999)}"  # ZIP+4
    elif k == 6:
        v = f"{R.randint(1990, 2030)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}"  # date
    elif k == 7:
        v = f"AB-{ssn()}"  # part number
    elif k == 8:
        v = f"{ssn()}-{R.randint(10, 99)}"  # longer identifier
    else:
        v = f"{R.randint(100, 899)}-{R.randint(10, 99)}-{R.randint(10000, 99999)}"
    add("none:ssn", "", ctx(v))


# ---------------------------------------------------------------- cards
def luhn_digit(body):
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card(prefix, length):
    body = prefix + "".join(str(R.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


ISSUERS = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
           ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("3528", 16), ("36", 14),
           ("62", 16)]


def fmt(num, style):
    if style == 0:
        return num
    sep = " " if style == 1 else "-"
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))


for i in range(100):
    p, n = ISSUERS[i % len(ISSUERS)]
    v = fmt(card(p, n), i % 3)
    add("card", v, ctx(v, glued_ok=True))
for i in range(100):
    k = i % 5
    if k == 0:  # Luhn failure
        p, n = ISSUERS[i % len(ISSUERS)]
        good = card(p, n)
        v = fmt(good[:-1] + str((int(good[-1]) + R.randint(1, 9)) % 10), i % 3)
    elif k == 1:  # Luhn-valid, no issuer uses this prefix
        v = fmt(card(R.choice(["1", "7", "8", "9", "0"]), 16), i % 3)
    elif k == 2:  # Luhn-valid Visa of a length Visa does not issue
        v = fmt(card("4", R.choice([14, 15, 17, 18])), 0)
    elif k == 3:  # long tracking numbers
        v = "".join(str(R.randint(0, 9)) for _ in range(R.randint(20, 26)))
    else:  # ISBN-13 and timestamps
        v = R.choice([f"978-3-16-{R.randint(100000, 999999)}-0",
                      f"1{R.randint(600000000000, 799999999999)}"])
    add("none:card", "", ctx(v))


# ---------------------------------------------------------------- IBAN
IBAN_FORMATS = {  # country: BBAN pattern (n = digit, a = upper letter, c = either)
    "DE": "nnnnnnnnnnnnnnnnnn", "GB": "aaaannnnnnnnnnnnnn", "FR": "nnnnnnnnnnccccccccccnnn",
    "NL": "aaaannnnnnnnnn", "ES": "nnnnnnnnnnnnnnnnnnnn", "IT": "annnnnnnnnncccccccccccc",
    "BE": "nnnnnnnnnnnn", "CH": "nnnnncccccccccccc", "AT": "nnnnnnnnnnnnnnnn",
    "PL": "nnnnnnnnnnnnnnnnnnnnnnnn", "NO": "nnnnnnnnnnn", "IE": "aaaannnnnnnnnnnnnn",
}


def bban(pattern):
    out = ""
    for c in pattern:
        if c == "n" or (c == "c" and R.random() < 0.5):
            out += str(R.randint(0, 9))
        else:
            out += chr(ord("A") + R.randint(0, 25))
    return out


def iban_check(cc, b):
    s = b + cc + "00"
    n = int("".join(str(int(ch, 36)) for ch in s))
    return f"{98 - n % 97:02d}"


IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16, "CH": 21,
                "AT": 20, "PL": 28, "NO": 15, "IE": 22}
for _cc, _p in IBAN_FORMATS.items():
    assert len(_p) + 4 == IBAN_LENGTHS[_cc], _cc


def iban(cc=None):
    cc = cc or R.choice(list(IBAN_FORMATS))
    b = bban(IBAN_FORMATS[cc])
    return cc + iban_check(cc, b) + b


def grouped(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


for i in range(80):
    v = iban()
    v = grouped(v) if i % 2 else v
    add("iban", v, ctx(v, glued_ok=True))
for i in range(80):
    k = i % 4
    good = iban()
    if k == 0:  # wrong check digits
        cd = int(good[2:4])
        v = good[:2] + f"{(cd + R.randint(1, 50)) % 100:02d}" + good[4:]
        if v == good:
            v = good[:2] + "00" + good[4:]
    elif k == 1:  # a character dropped (wrong length for the country)
        v = good[:-1]
    elif k == 2:  # unknown country code
        v = R.choice(["XX", "QQ", "ZZ", "AA"]) + good[2:]
    else:  # letter and digit codes that look like IBANs
        v = R.choice(["AB12CDEF3456789012", "SN74 2019 4412", "ISO 9001 2015 CERT",
                      "GB12", "DE00 0000 0000 0000 0000 00", "FR76 3000 6000 0112 3456 7890 18X"])
    add("none:iban", "", ctx(grouped(v) if k < 3 and i % 2 else v))


# ---------------------------------------------------------------- phone
def nanp():
    return (str(R.randint(2, 9)) + f"{R.randint(0, 99):02d}", str(R.randint(2, 9)) +
            f"{R.randint(0, 99):02d}", f"{R.randint(0, 9999):04d}")


for i in range(50):
    a, b, c = nanp()
    k = i % 6
    v = [f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"+1 {a} {b} {c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}",
         R.choice(["+44 20 7946 0958", "+49 30 1234567", "+33 1 23 45 67 89", "+81 3-1234-5678",
                   "+61 2 9876 5432"])][k]
    add("phone", v, ctx(v))
for i in range(50):
    k = i % 5
    v = [f"{R.randint(1990, 2030)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}",
         f"{R.randint(1, 28):02d}.{R.randint(1, 12):02d}.{R.randint(1990, 2030)}",
         f"({R.randint(0, 1)}{R.randint(10, 99)}) {R.randint(200, 999)}-{R.randint(1000, 9999)}",
         f"{R.randint(1, 12)}:{R.randint(10, 59)}:{R.randint(10, 59)}",
         f"${R.randint(1, 999)},{R.randint(100, 999)}.{R.randint(10, 99)}"][k]
    add("none:phone", "", ctx(v))


# ---------------------------------------------------------------- IPv4 / IPv6
for i in range(40):
    v = ".".join(str(R.randint(0, 255)) for _ in range(4))
    add("ipv4", v, ctx(v))
for i in range(40):
    k = i % 5
    o = [str(R.randint(0, 255)) for _ in range(4)]
    if k == 0:
        o[R.randint(0, 3)] = str(R.randint(256, 999))
    v = [".".join(o), ".".join(o[:3]), ".".join(o) + "." + str(R.randint(0, 9)),
         ".".join("0" + x for x in o), "v" + ".".join(o)][k]
    add("none:ipv4", "", ctx(v))


def h():
    return f"{R.randint(0, 0xffff):x}"


for i in range(40):
    k = i % 5
    v = [":".join(h() for _ in range(8)), f"2001:db8:{h()}::{h()}", f"fe80::{h()}:{h()}",
         f"::ffff:{R.randint(1, 255)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(0, 255)}",
         f"fd{R.randint(0, 255):02x}:{h()}:{h()}:{h()}::1"][k]
    add("ipv6", v, ctx(v))
for i in range(40):
    k = i % 5
    v = [f"{R.randint(0, 23)}:{R.randint(10, 59)}:{R.randint(10, 59)}",
         ":".join(f"{R.randint(0, 255):02x}" for _ in range(6)),
         f"2001:db8:::{h()}", f"abcd:efgh::{h()}", f"{R.randint(1, 32)}:{R.randint(1, 32)}"][k]
    add("none:ipv6", "", ctx(v))


# ---------------------------------------------------------------- API keys, private keys
def rnd(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
az = AZ.lower()
D = "0123456789"
for i in range(30):
    k = i % 8
    v = ["sk-" + rnd(AZ + az + D, 48), "AKIA" + rnd(AZ + D, 16), "ghp_" + rnd(AZ + az + D, 36),
         "xoxb-" + rnd(D, 12) + "-" + rnd(AZ + az + D, 24), "AIza" + rnd(AZ + az + D + "_-", 35),
         "glpat-" + rnd(AZ + az + D, 20), "sk_live_" + rnd(AZ + az + D, 24),
         "eyJ" + rnd(AZ + az + D, 20) + ".eyJ" + rnd(AZ + az + D, 30) + "." + rnd(AZ + az + D, 43)][k]
    add("api_key", v, ctx(v))
for i in range(30):
    v = R.choice(["sk-short", "AKIA1234", "ghp_abc", "desk-organizer-for-the-home-office-2024",
                  "task-management-system-overview", "risk-assessment-and-mitigation-plan",
                  "xoxb", "eyJhbGciOi", "AIza too short", "glpat-", "sk_live_", "the sk- prefix"])
    add("none:api_key", "", ctx(v))

KEY_KINDS = ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY",
             "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"]
for i in range(12):
    kind = KEY_KINDS[i % len(KEY_KINDS)]
    body = "\n".join(rnd(AZ + az + D + "+/", 64) for _ in range(R.randint(1, 4)))
    v = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    add("private_key", v, f"my key:\n{v}\nthanks")
for i in range(12):
    v = R.choice(["-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZI\n-----END PUBLIC KEY-----",
                  "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
                  "BEGIN PRIVATE KEY", "the private key is on the token",
                  "-----BEGIN OPENSSH PUBLIC KEY-----"])
    add("none:private_key", "", f"note: {v}")

for label, value, text in rows:
    print(f"{label}\t{value}\t{text}")
