"""The frame every decoder checkpoint format shares, renamed by the format's own table: the token
embedding, the final norm, the output head (left out when tied: the format reuses the embedding)
and each block's two RMSNorms. The attention and feed-forward between them are each format's own."""
from __future__ import annotations

OUTER = ("tok_embeddings", "norm", "output")
BLOCK = ("attention_norm", "ffn_norm")


def frame_tensors(sd: dict, plan, names: dict) -> tuple[dict, list[dict]]:
    """({name: tensor} of the outer parts, [{name: tensor} of block i's norms]). ``names``: role → the
    format's name; a block role's name has ``{i}`` for the block index."""
    ids = plan.ids
    outer = {names[role]: sd[f"{ids[role]}.weight"] for role in OUTER if not (role == "output" and plan.tied)}
    blocks = [{names[role].format(i=i): sd[f"layers.{i}.{ids[role]}.weight"] for role in BLOCK}
              for i in range(plan.n_layers)]
    return outer, blocks
