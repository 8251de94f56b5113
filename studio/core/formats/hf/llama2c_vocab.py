"""A llama2.c tokenizer.bin (an imported run's vocabulary) as a SentencePiece BPE model, so that
imported models leave for transformers and llama.cpp with their own vocabulary.

run.c encodes as SentencePiece BPE does: a dummy-prefix space, one piece per character (bytes
<0xHH> where none fits), then the best-scoring merge until none applies. A ModelProto with the
same pieces and scores, byte fallback and no whitespace normalisation encodes the same ids; the
conversion checks that on a few sentences and refuses otherwise, naming what differed.
"""
from __future__ import annotations

from studio.core import errors as E
from studio.core.formats.optional import require

SPACE = "\u2581"
PROBES = ("Once upon a time, there was a little girl named Lily.", "She said: \"Can I play?\"\nThe end.",
          "Zoo", "a  b", "Tom's 3 cats ate 42 fish!", "é ü 日本")


def sentencepiece_from_llama2c(tok):
    """A SentencePieceTokenizer equivalent to ``tok`` (a Llama2cTokenizer), or a StudioError line."""
    (pb,) = require("exporting an imported llama2.c vocabulary", "sentencepiece.sentencepiece_model_pb2")
    from studio.core.tokenizers.sentencepiece_bpe import SentencePieceTokenizer
    m = pb.ModelProto()
    t, n = m.trainer_spec, m.normalizer_spec
    t.model_type, t.vocab_size, t.byte_fallback = pb.TrainerSpec.BPE, tok.vocab_size, True
    t.unk_id, t.bos_id, t.eos_id, t.pad_id = 0, 1, 2, -1
    n.name, n.add_dummy_prefix, n.remove_extra_whitespaces, n.escape_whitespaces = "identity", True, False, True
    kinds = pb.ModelProto.SentencePiece
    for i, raw in enumerate(tok.pieces):
        p = m.pieces.add()
        if i < 3:
            p.piece, p.type = ("<unk>", "<s>", "</s>")[i], kinds.UNKNOWN if i == 0 else kinds.CONTROL
            continue
        try:
            text = raw.split(b"\0", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            raise E.StudioError(f"tokenizer: piece {i} of tokenizer.bin is not UTF-8 text; SentencePiece "
                                "cannot hold it") from None
        is_byte = i < 259 and len(text) == 6 and text.startswith("<0x")
        p.piece, p.type, p.score = text if is_byte else text.replace(" ", SPACE), kinds.BYTE if is_byte else kinds.NORMAL, \
            0.0 if is_byte else float(tok.scores[i])
    try:
        sp = SentencePieceTokenizer(m.SerializeToString(), kind="llama2c-bin", source="tokenizer.bin")
    except E.StudioError as exc:
        raise E.StudioError(f"tokenizer: tokenizer.bin does not convert to SentencePiece ({exc})") from None
    for text in PROBES:
        if sp.encode(text) != tok.encode(text):
            raise E.StudioError(f"tokenizer: converted to SentencePiece, tokenizer.bin encodes {text!r} "
                                "differently; it cannot be exported")
    return sp
