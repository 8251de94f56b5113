"""An independent re-implementation of llama2.c's run.c in numpy, written from the format notes
(LLAMA2C-FORMAT.md §2, §5, §6, §7) for tests only: its own file parsing, forward pass with a KV
cache, prompt encoder over a strcmp-sorted table, and the generate loop with run.c's printing.
It shares no code with studio.core.formats.llama2c, so agreement between the two checks both.
"""
from __future__ import annotations

import bisect
import struct

import numpy as np


class RunC:
    def __init__(self, model_bytes: bytes, tokenizer_bytes: bytes):
        hdr = struct.unpack("<7i", model_bytes[:28])
        self.dim, self.hidden, self.L, self.nh, self.nkv, v, self.seq = hdr
        self.shared = v > 0
        self.V = abs(v)
        hs = self.dim // self.nh
        self.hs, self.kvd = hs, self.nkv * hs
        f = np.frombuffer(model_bytes, dtype="<f4", offset=28)
        p = 0

        def take(*shape):
            nonlocal p
            n = int(np.prod(shape))
            a = f[p:p + n].reshape(shape)
            p += n
            return a
        D, H, L, V = self.dim, self.hidden, self.L, self.V
        self.emb = take(V, D)
        self.g_att = take(L, D)
        self.wq, self.wk, self.wv, self.wo = take(L, D, D), take(L, self.kvd, D), take(L, self.kvd, D), take(L, D, D)
        self.g_ffn = take(L, D)
        self.w1, self.w2, self.w3 = take(L, H, D), take(L, D, H), take(L, H, D)
        self.g_fin = take(D)
        take(self.seq, hs // 2)  # freq_cis_real: skipped, as run.c does
        take(self.seq, hs // 2)  # freq_cis_imag
        self.wcls = self.emb if self.shared else take(V, D)
        assert p == f.size, "file size does not match the header"
        self.tok = RunCTokenizer(tokenizer_bytes, self.V)  # run.c takes the count from the model

    # ---------------------------------------------------------------- forward (§5)
    def mm(self, w, layer, x):
        return (w if layer is None else w[layer]) @ x

    def embedding(self, token):
        return self.emb[token].astype(np.float64)

    def reset(self):
        self.kc = np.zeros((self.L, self.seq, self.kvd))
        self.vc = np.zeros((self.L, self.seq, self.kvd))

    @staticmethod
    def rmsnorm(x, g):
        return g * (x / np.sqrt(np.mean(x * x) + 1e-5))

    def rope(self, v, pos):
        v = v.copy()
        for i in range(0, v.size, 2):
            j = (i % self.hs) // 2
            a = pos * 10000.0 ** (-2.0 * j / self.hs)
            c, s = np.cos(a), np.sin(a)
            v[i], v[i + 1] = v[i] * c - v[i + 1] * s, v[i] * s + v[i + 1] * c
        return v

    def forward(self, token: int, pos: int) -> np.ndarray:
        x = self.embedding(token)
        grp = self.nh // self.nkv
        for l in range(self.L):
            h = self.rmsnorm(x, self.g_att[l])
            q = self.rope(self.mm(self.wq, l, h), pos)
            self.kc[l, pos] = self.rope(self.mm(self.wk, l, h), pos)
            self.vc[l, pos] = self.mm(self.wv, l, h)
            o = np.zeros(self.dim)
            for hd in range(self.nh):
                kv = hd // grp
                qh = q[hd * self.hs:(hd + 1) * self.hs]
                K = self.kc[l, :pos + 1, kv * self.hs:(kv + 1) * self.hs]
                Vv = self.vc[l, :pos + 1, kv * self.hs:(kv + 1) * self.hs]
                att = K @ qh / np.sqrt(self.hs)
                att = np.exp(att - att.max())
                att /= att.sum()
                o[hd * self.hs:(hd + 1) * self.hs] = att @ Vv
            x = x + self.mm(self.wo, l, o)
            h = self.rmsnorm(x, self.g_ffn[l])
            a = self.mm(self.w1, l, h)
            x = x + self.mm(self.w2, l, (a / (1 + np.exp(-a))) * self.mm(self.w3, l, h))
        return self.mm(self.wcls, None, self.rmsnorm(x, self.g_fin))

    # ---------------------------------------------------------------- the generate loop (§7)
    def generate(self, prompt: str, steps: int) -> bytes:
        """What ``run model.bin -z tok.bin -t 0 -n steps -i prompt`` writes to stdout."""
        toks = self.tok.encode(prompt.encode("utf-8"))
        if steps <= 0 or steps > self.seq:
            steps = self.seq
        self.reset()
        out, token, pos = b"", toks[0], 0
        while pos < steps:
            logits = self.forward(token, pos)
            nxt = toks[pos + 1] if pos < len(toks) - 1 else int(np.argmax(logits))
            pos += 1
            if nxt == 1:
                break
            out += self.tok.decode(token, nxt)
            token = nxt
        return out + b"\n"


class RunQ(RunC):
    """runq.c on a version-2 (Q8_0) file: int8 weights with one scale per group of GS, and every
    matmul input quantized the same way (round half away from zero) before an int32 dot product (§4)."""

    def __init__(self, model_bytes: bytes, tokenizer_bytes: bytes):
        magic, version = struct.unpack_from("<Ii", model_bytes, 0)
        assert (magic, version) == (0x616B3432, 2), "not a version-2 file"
        self.dim, self.hidden, self.L, self.nh, self.nkv, self.V, self.seq = struct.unpack_from("<7i", model_bytes, 8)
        self.shared = model_bytes[36] == 1
        self.gs, = struct.unpack_from("<i", model_bytes, 37)
        self.hs = self.dim // self.nh
        self.kvd = self.nkv * self.hs
        D, H, L, V = self.dim, self.hidden, self.L, self.V
        off = 256

        def floats(n):
            nonlocal off
            a = np.frombuffer(model_bytes, "<f4", n, off)
            off += 4 * n
            return a

        def qt(rows, cols):  # one tensor: int8 values, then one float32 scale per group
            nonlocal off
            n = rows * cols
            q = np.frombuffer(model_bytes, np.int8, n, off)
            off += n
            return q, floats(n // self.gs), (rows, cols)

        self.g_att, self.g_ffn, self.g_fin = floats(L * D).reshape(L, D), floats(L * D).reshape(L, D), floats(D)
        self.q_emb = qt(V, D)
        self.wq = [qt(D, D) for _ in range(L)]
        self.wk = [qt(self.kvd, D) for _ in range(L)]
        self.wv = [qt(self.kvd, D) for _ in range(L)]
        self.wo = [qt(D, D) for _ in range(L)]
        self.w1 = [qt(H, D) for _ in range(L)]
        self.w2 = [qt(D, H) for _ in range(L)]
        self.w3 = [qt(H, D) for _ in range(L)]
        self.wcls = self.q_emb if self.shared else qt(V, D)
        assert off == len(model_bytes), "file size does not match the header"
        self.tok = RunCTokenizer(tokenizer_bytes, self.V)

    def embedding(self, token):
        q, s, (_, cols) = self.q_emb
        row = q[token * cols:(token + 1) * cols].astype(np.float64)
        return (row.reshape(-1, self.gs) * s[token * cols // self.gs:(token + 1) * cols // self.gs, None]).reshape(-1)

    def mm(self, w, layer, x):
        q, s, (rows, cols) = w if layer is None else w[layer]
        xf = np.asarray(x, np.float32).reshape(-1, self.gs)
        xs = np.abs(xf).max(axis=1) / np.float32(127.0)
        v = xf / xs[:, None]
        xq = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int32)  # C round(): half away from zero
        wq = q.reshape(rows, cols // self.gs, self.gs).astype(np.int32)
        dots = (wq * xq[None]).sum(-1)  # (rows, groups), exact in int32 as in runq
        return (dots * s.reshape(rows, -1) * xs[None]).sum(-1)


class RunCTokenizer:
    def __init__(self, tokenizer_bytes: bytes, vocab_size: int):
        self.max_len, = struct.unpack_from("<I", tokenizer_bytes, 0)
        off, self.vocab, self.scores = 4, [], []
        for _ in range(vocab_size):
            s, n = struct.unpack_from("<fi", tokenizer_bytes, off)
            self.vocab.append(tokenizer_bytes[off + 8: off + 8 + n].split(b"\0")[0])
            self.scores.append(s)
            off += 8 + n
        self.sorted = sorted((s, i) for i, s in enumerate(self.vocab))  # strcmp order, as run.c's qsort
        self.keys = [s for s, _ in self.sorted]

    # ---------------------------------------------------------------- encoder (§6)
    def lookup(self, s: bytes) -> int:
        i = bisect.bisect_left(self.keys, s)
        return self.sorted[i][1] if i < len(self.keys) and self.keys[i] == s else -1

    def encode(self, text: bytes) -> list[int]:
        toks = [1]
        if text:
            toks.append(self.lookup(b" "))
        buf = b""
        for k in range(len(text)):
            c = text[k]
            if (c & 0xC0) != 0x80:
                buf = b""
            buf += bytes([c])
            nxt = text[k + 1] if k + 1 < len(text) else 0
            if (nxt & 0xC0) == 0x80 and len(buf) < 4:
                continue
            i = self.lookup(buf)
            toks += [i] if i != -1 else [b + 3 for b in buf]
            buf = b""
        while True:
            best, bid, bidx = -1e10, -1, -1
            for i in range(len(toks) - 1):
                j = self.lookup(self.vocab[toks[i]] + self.vocab[toks[i + 1]])
                if j != -1 and self.scores[j] > best:
                    best, bid, bidx = self.scores[j], j, i
            if bidx == -1:
                return toks
            toks[bidx:bidx + 2] = [bid]

    # ---------------------------------------------------------------- printing (§6)
    def decode(self, prev: int, tok: int) -> bytes:
        p = self.vocab[tok]
        if prev == 1 and p.startswith(b" "):
            p = p[1:]
        if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
            p = bytes([int(p[3:5], 16)]).rstrip(b"\0")
        if len(p) == 1 and not (32 <= p[0] < 127 or p[0] in b"\t\n\v\f\r"):
            return b""
        return p
