"""Compare two SentencePiece .model files piece by piece: the piece, its score
(as the 32-bit float stored) and its type, in id order. Reads the protobuf wire
format directly (ModelProto field 1, SentencePiece fields 1-3), so it needs no
protobuf module. Prints the first differences; exits 1 when any.
  python3 tests/ref/spm_bpe.py REFERENCE.model OTHER.model LABEL"""
import struct, sys

def varint(b, i):
    x = s = 0
    while True:
        c = b[i]; i += 1; x |= (c & 0x7f) << s; s += 7
        if c < 0x80: return x, i

def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        f, t = k >> 3, k & 7
        if t == 0: v, i = varint(b, i)
        elif t == 1: v, i = b[i:i + 8], i + 8
        elif t == 5: v, i = b[i:i + 4], i + 4
        elif t == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else: raise ValueError('wire type %d' % t)
        yield f, v

def pieces(path):
    out = []
    for f, v in fields(open(path, 'rb').read()):
        if f != 1: continue
        p, s, t = b'', b'\0\0\0\0', 1   # type NORMAL unless stored
        for g, w in fields(v):
            if g == 1: p = w
            elif g == 2: s = w
            elif g == 3: t = w
        out.append((p.decode('utf-8'), struct.unpack('<f', s)[0], t))
    return out

ref, got, label = pieces(sys.argv[1]), pieces(sys.argv[2]), sys.argv[3]
diff = [i for i in range(max(len(ref), len(got)))
        if i >= len(ref) or i >= len(got) or ref[i] != got[i]]
if not diff:
    print('spm_bpe: %s: %d pieces, scores and types as spm_train\'s' % (label, len(ref)))
    sys.exit(0)
print('spm_bpe: %s: %d of %d pieces differ, first at id %d:' % (label, len(diff), len(ref), diff[0]))
for i in diff[:5]:
    print('  id %d: spm_train %r, lm-bpe %r' % (i, ref[i] if i < len(ref) else None, got[i] if i < len(got) else None))
sys.exit(1)
