"""Masked language modelling: BERT's masking rule and its loss.

自監督學習（筆記第五章只有標題；以下依 BERT 論文說明：Devlin, Chang, Lee & Toutanova,
"BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding", NAACL 2019）。
沒有人工標籤時，讓資料自己出題：把句子裡一部分的詞蓋住，要模型從上下文猜回原本的詞（克漏字）。
BERT 隨機選 15 % 的位置；被選中的位置 80 % 換成 [MASK]、10 % 換成隨機的詞、10 % 保持不變，
這樣模型不能只在看到 [MASK] 時才認真，而且微調時（輸入裡沒有 [MASK]）也用得上。損失只算在
被選中的位置上。
Self-supervised learning (chapter 5 of the notes has only its heading; this follows BERT:
Devlin, Chang, Lee & Toutanova, NAACL 2019). Without human labels, the data set their own
exercise: hide some words of a sentence and ask the model to recover them from the context (a
cloze test). BERT chooses 15 % of the positions; a chosen position becomes [MASK] 80 % of the
time, a random word 10 % of the time, and stays as it is 10 % of the time, so the model cannot
save its effort for the [MASK] token, which never appears when it is fine-tuned. The loss counts
only the chosen positions.
"""

import torch

from torch.nn import functional as F

IGNORE = -100  # F.cross_entropy's default ignore_index


def mask_tokens(input_ids, mask_id, vocab_size, special_mask, mask_prob=0.15, generator=None):
    """BERT's masking: returns (masked input ids, labels), both new tensors shaped like ``input_ids``.

    繁中：``input_ids`` 是 int64 張量（例如 (N, L)），``special_mask`` 是同形狀的 bool 張量，True 表示
    特殊符號（[CLS]、[SEP]、填充…），永遠不會被選中也不會被改動。其餘每個位置各自以機率
    ``mask_prob`` 被選中。``labels`` 在被選中的位置放原本的 id，其他位置放 −100（交叉熵會忽略）。
    被選中的位置中：80 % 換成 ``mask_id``、10 % 換成 [0, vocab_size) 中均勻隨機的 id（可能剛好等於
    原本的 id）、10 % 保持不變。所有隨機數都從 ``generator``（CPU 的 ``torch.Generator``；
    ``None`` 表示全域亂數）抽取。不修改輸入；結果與輸入同裝置、int64。
    English: ``input_ids`` is an int64 tensor ((N, L), say) and ``special_mask`` a bool tensor of
    the same shape, True at special tokens ([CLS], [SEP], padding…), which are never chosen and
    never changed. Every other position is chosen independently with probability ``mask_prob``.
    ``labels`` holds the original id at chosen positions and −100 (ignored by cross-entropy)
    elsewhere. Of the chosen positions, 80 % become ``mask_id``, 10 % a uniformly random id in
    [0, vocab_size) (possibly the original one), and 10 % stay as they are. Every random number
    comes from ``generator`` (a CPU ``torch.Generator``; ``None`` for the global RNG). The inputs
    are not modified; both results are int64 on the inputs' device.
    """
    dev, shape = input_ids.device, input_ids.shape
    draw = torch.rand(shape, generator=generator).to(dev)  # (…) chooses the positions
    chosen = (draw < mask_prob) & ~special_mask.to(dev)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    how = torch.rand(shape, generator=generator).to(dev)  # (…) 80 / 10 / 10 among the chosen
    random_ids = torch.randint(0, vocab_size, shape, generator=generator).to(dev)
    out = torch.where(chosen & (how < 0.8), torch.full_like(input_ids, mask_id), input_ids)
    out = torch.where(chosen & (how >= 0.8) & (how < 0.9), random_ids, out)
    return out, labels


def mlm_loss(logits, labels)
    """The masked-language-model loss: mean cross-entropy over the positions whose label is not −100.

    繁中：``logits`` 形狀 (..., V)（例如 (N, L, V)），``labels`` 形狀 (...)，int64。只在 label ≠ −100
    的位置計算交叉熵，再對這些位置取平均（每個被選中的位置權重相同，不論它在哪一句）。
    與 ``F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)`` 相同；
    假設至少有一個位置被選中。dtype 與 ``logits`` 相同，梯度流向 ``logits``。
    English: ``logits`` (..., V) ((N, L, V), say), ``labels`` (...) int64. Cross-entropy at the
    positions whose label is not −100, averaged over those positions (each chosen position weighs
    the same, whichever sentence it is in). Matches
    ``F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)``; at least one
    position is assumed chosen. The logits' dtype; the gradient flows into ``logits``.
    """
    v = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, v), labels.reshape(-1), ignore_index=IGNORE)
