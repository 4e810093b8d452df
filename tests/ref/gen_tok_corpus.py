"""Generate tests/data/tok_corpus.txt.gz: hard text for the tokenizer, one
document per line. Deterministic (fixed seed; the prose and code come from files
every Debian 12 system has). Run by tests/ref/spm_ids.sh before the reference ids
are computed; the corpus itself is committed, so the tests never run this."""
import glob, gzip, random, sys

rng = random.Random(20260127)
lines = []

def add(s):
    # a line is a document: no newline inside (a \r inside is kept, a final one
    # would be eaten as CRLF, so none at the end)
    b = s if isinstance(s, bytes) else s.encode("utf-8")
    b = b.replace(b"\n", b" ")
    while b.endswith(b"\r"):
        b = b[:-1]
    lines.append(b)

# English prose: the license texts of base-files
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    if path.endswith(("GPL", "LGPL", "GFDL")):  # symlinks to versioned copies
        continue
    with open(path, "rb") as f:
        for l in f.read().split(b"\n"):
            add(l)

# code: some of Python's standard library and C headers, tabs and indentation kept
for path in ["/usr/lib/python3.11/textwrap.py", "/usr/lib/python3.11/shlex.py",
             "/usr/lib/python3.11/heapq.py", "/usr/include/stdio.h", "/usr/include/string.h"]:
    with open(path, "rb") as f:
        for l in f.read().split(b"\n"):
            add(l)

words = [w for l in lines[:3000] for w in l.decode("utf-8", "replace").split() if w.isalpha()]

# numbers and dates
for _ in range(3000):
    y, m, d = rng.randint(1000, 2099), rng.randint(1, 12), rng.randint(1, 28)
    add(rng.choice([
        f"{y}-{m:02d}-{d:02d}", f"{d}/{m}/{y}", f"on {d}.{m}.{y} at {rng.randint(0,23)}:{rng.randint(0,59):02d}",
        f"{rng.uniform(-1e6, 1e6):.4f} {rng.randint(0, 10**18)} 0x{rng.getrandbits(64):x}",
        f"${rng.randint(1, 99999):,}.{rng.randint(0, 99):02d} and {rng.randint(0, 100)}%",
        f"{rng.random():.3e} ± {rng.random():.2g}", " ".join(str(rng.randint(0, 9999)) for _ in range(20)),
    ]))

cjk = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000)) + "的一是不了人我在有他这为之大来以个中上们"
hira = "".join(chr(c) for c in range(0x3041, 0x3097))
hangul = "".join(chr(c) for c in range(0xAC00, 0xAC00 + 2000))
arabic = "".join(chr(c) for c in range(0x0621, 0x064B)) + "ًٌٍَُِّْ"
emoji = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏾‍💻", "❤️", "🇫🇷", "🧑‍🤝‍🧑", "✨", "🤖", "1️⃣", "🫠"]
combining = [chr(c) for c in range(0x300, 0x36F)]

def rand_from(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))

for _ in range(2500):
    kind = rng.randrange(12)
    if kind == 0:
        add(rand_from(cjk, rng.randint(1, 80)) + "。" + rand_from(hira, rng.randint(0, 20)))
    elif kind == 1:
        add(" ".join(rand_from(arabic, rng.randint(2, 9)) for _ in range(rng.randint(1, 15))))
    elif kind == 2:
        add(" ".join(rng.choice(words) + rng.choice(emoji) * rng.randint(0, 3) for _ in range(rng.randint(1, 12))))
    elif kind == 3:
        # combining marks, NFC and NFD look-alikes
        add(" ".join("".join(ch + "".join(rng.choice(combining) for _ in range(rng.randint(0, 3)))
                             for ch in rng.choice(words)) for _ in range(rng.randint(1, 8))))
    elif kind == 4:
        # runs of spaces and tabs, leading and trailing too
        add("".join(rng.choice([" " * rng.randint(1, 40), "\t" * rng.randint(1, 6), rng.choice(words), " \t "])
                    for _ in range(rng.randint(1, 20))))
    elif kind == 5:
        add(rand_from(hangul, rng.randint(1, 30)) + " " + " ".join(rng.choice(words) for _ in range(5)))
    elif kind == 6:
        # invalid UTF-8: stray bytes, cut sequences, overlongs, surrogates
        parts = []
        for _ in range(rng.randint(1, 10)):
            parts.append(rng.choice(words).encode())
            parts.append(rng.choice([bytes([rng.randint(0x80, 0xFF)]), b"\xc0\xaf", b"\xe0\x80\x80",
                                     b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe6\x97", b"\xff\xfe",
                                     "é".encode()[:1], "😀".encode()[:3], b"\xef\xbf\xbd"]))
        add(b" ".join(parts) if rng.random() < .5 else b"".join(parts))
    elif kind == 7:
        # control characters, NUL, a carriage return inside a line
        add(rng.choice(words) + rng.choice(["\x00", "\x01", "\x1b[31m", "\r", "\x7f", "\x0b", "\x0c", "\u200b", "\ufeff"])
            + rng.choice(words))
    elif kind == 8:
        # a very long word
        add(rand_from("abcdefghijklmnopqrstuvwxyz", rng.choice([100, 1000, 5000])))
    elif kind == 9:
        add("".join(rng.choice(words).capitalize() for _ in range(rng.randint(5, 60))))
    elif kind == 10:
        add(rand_from("0123456789", rng.randint(1, 300)))
    else:
        add(" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))))

# a few whole-line oddities
for s in ["", " ", "  ", "\t", "▁", "▁▁ ▁", "<s>", "</s>", "<unk>", "<0x41>", " ⁇ ", "\u2581leading"]:
    add(s)
# one long word over 64 KB, and one line of 20000 spaces between words
add(rand_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 70000))
add("start" + " " * 20000 + "end")

data = b"\n".join(lines) + b"\n"
with gzip.GzipFile(sys.argv[1], "wb", mtime=0) as f:
    f.write(data)
print(f"{len(lines)} lines, {len(data)} bytes", file=sys.stderr)
