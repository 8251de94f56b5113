"""A damaged token cache entry (ids past the vocabulary, another dtype) is tokenized again
instead of reaching the embedding as an index error."""
import numpy as np

from studio.core.data.tokenized import pretokenize
from studio.core.tokenizers.byte_level import ByteTokenizer


def test_ids_past_the_vocabulary_are_tokenized_again(tmp_path):
    tok = ByteTokenizer()
    good = pretokenize(["a cat", "a dog"], tok, tmp_path, "k")
    np.save(tmp_path / "k.npy", np.full(10, 65000, dtype=np.uint16))
    again = pretokenize(["a cat", "a dog"], tok, tmp_path, "k")
    assert np.array_equal(again, good) and int(again.max()) < tok.vocab_size
    np.save(tmp_path / "k.npy", np.zeros((2, 2), dtype=np.uint16))
    assert np.array_equal(pretokenize(["a cat", "a dog"], tok, tmp_path, "k"), good)
