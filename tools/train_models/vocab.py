"""A character-level vocabulary that llama.cpp's SentencePiece ("llama")
tokenizer applies exactly: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF>
(type BYTE), then one NORMAL token per printable ASCII character, with the
space spelt U+2581 as SentencePiece does. With no multi-character token there
is nothing to merge, so llama.cpp tokenizes a text character by character;
characters outside printable ASCII (the newline among them) fall back to their
UTF-8 bytes, and every token detokenizes to exactly its text. add_space_prefix
is off, so no leading space is invented."""

UNK, BOS, EOS = 0, 1, 2
BYTE_BASE = 3
SPACE = "\u2581"

TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL, TYPE_BYTE = 1, 2, 3, 6


def tokens():
    out = [("<unk>", TYPE_UNKNOWN), ("<s>", TYPE_CONTROL), ("</s>", TYPE_CONTROL)]
    out += [("<0x%02X>" % b, TYPE_BYTE) for b in range(256)]
    out += [(SPACE if c == " " else c, TYPE_NORMAL) for c in map(chr, range(32, 127))]
    return out


_ids = {text: i for i, (text, _) in enumerate(tokens())}
N_VOCAB = len(tokens())


def encode(text):
    out = []
    for c in text:
        key = SPACE if c == " " else c
        if key in _ids and key not in ("<unk>", "<s>", "</s>"):
            out.append(_ids[key])
        else:
            out.extend(BYTE_BASE + b for b in c.encode("utf-8"))
    return out


def decode(ids):
    data = bytearray()
    table = tokens()
    for i in ids:
        if i in (UNK, BOS, EOS):
            continue
        text, kind = table[i]
        if kind == TYPE_BYTE:
            data.append(i - BYTE_BASE)
        else:
            data += (" " if text == SPACE else text).encode("utf-8")
    return data.decode("utf-8", errors="replace")
