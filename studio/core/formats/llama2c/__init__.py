"""llama2.c interoperability: compatibility check, model.bin writers/readers, RUN_DIR export/import.

See the shared notes LLAMA2C-FORMAT.md for the layouts and run.c's behaviour.
"""
from studio.core.formats.llama2c.check import Match, check_llama2c, match_llama2c
from studio.core.formats.llama2c.format import (
    MAGIC, Header, Llama2cModel, encode_v0, encode_v1, encode_v2, freq_cis_tables, pick_group_size, quantize_q80,
    write_model,
)
from studio.core.formats.llama2c.reader import read_model


def read_tokenizer_bin(path, vocab_size=None):
    """A run.c-exact tokenizer from a tokenizer.bin (validated; vocab_size checks the entry count)."""
    from studio.core.tokenizers.llama2c_bin import Llama2cTokenizer
    return Llama2cTokenizer.from_file(path, vocab_size)


__all__ = ["MAGIC", "Header", "Llama2cModel", "Match", "check_llama2c", "encode_v0", "encode_v1", "encode_v2",
           "freq_cis_tables", "match_llama2c", "pick_group_size", "quantize_q80", "read_model", "read_tokenizer_bin",
           "write_model"]
