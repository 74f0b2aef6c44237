"""torch's Transformer layers name their weights differently from this chapter's blocks; this maps
one to the other, so that a block can be compared with ``nn.TransformerEncoderLayer`` /
``nn.TransformerDecoderLayer`` holding the very same weights."""

ATTN = {"self_attn": "self_attn", "multihead_attn": "cross_attn"}


def to_block_names(torch_state):
    """torch's TransformerEncoderLayer/DecoderLayer state dict -> the blocks' names: the packed
    ``in_proj`` split into ``q_proj``, ``k_proj``, ``v_proj``; ``multihead_attn`` is ``cross_attn``."""
    out = {}
    for key, value in torch_state.items():
        head, _, rest = key.partition(".")
        if head in ATTN and rest.startswith("in_proj_"):
            kind = rest[len("in_proj_"):]  # "weight" | "bias"
            for part, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                out[f"{ATTN[head]}.{part}.{kind}"] = chunk.clone()
        elif head in ATTN:
            out[f"{ATTN[head]}.{rest}"] = value.clone()
        else:
            out[key] = value.clone()
    return out
