"""The run's SentencePiece vocabulary as ``tokenizer.ggml.*``: pieces, scores and types (byte
pieces <0xHH> typed BYTE, unk/control/unused as SentencePiece marks them), llama.cpp's "llama"
(SentencePiece) tokenizer model, whichever architecture the weights are written as."""
from __future__ import annotations


def write_vocab(w, gguf, tok) -> list[str]:
    """Add tokenizer.ggml.* to the writer; returns notes on what llama.cpp does differently."""
    from sentencepiece import sentencepiece_model_pb2
    sp = tok.sp
    n = sp.get_piece_size()
    spec = sentencepiece_model_pb2.ModelProto()
    spec.ParseFromString(tok.model_bytes)
    w.add_tokenizer_model("llama")
    w.add_token_list([sp.id_to_piece(i).encode("utf-8") for i in range(n)])
    w.add_token_scores([float(sp.get_score(i)) for i in range(n)])
    w.add_token_types([_token_type(gguf, sp, i) for i in range(n)])
    w.add_bos_token_id(tok.bos_id)
    w.add_eos_token_id(tok.eos_id)
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(bool(spec.normalizer_spec.add_dummy_prefix))
    if spec.normalizer_spec.remove_extra_whitespaces:
        return [("llama.cpp does not collapse repeated spaces as this SentencePiece model does: text with double "
                 "or leading spaces encodes to other ids there (generation from the same ids is unaffected)")]
    return []


def _token_type(gguf, sp, i: int):
    if sp.is_unknown(i):
        return gguf.TokenType.UNKNOWN
    if sp.is_control(i):
        return gguf.TokenType.CONTROL
    if sp.is_unused(i):
        return gguf.TokenType.UNUSED
    if sp.is_byte(i):
        return gguf.TokenType.BYTE
    return gguf.TokenType.NORMAL
