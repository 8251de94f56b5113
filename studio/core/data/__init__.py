"""Training data: TinyStories downloads, local files, the starter corpus, tokenized streams.

Submodules: ``download`` (HF hub, resumable), ``sources`` (Corpus, local formats), ``starter``
(the generated not-TinyStories corpus), ``tokenized`` (split, pretokenize cache, TokenData).
"""
from studio.core.data.download import ATTRIBUTION, LICENSE, SUBSETS, cache_root, cached_path  # noqa: F401
from studio.core.data.sources import Corpus, load_corpus, read_stories  # noqa: F401
from studio.core.data.tokenized import TokenData, make_tokenizer, split, tokenize_corpus  # noqa: F401
