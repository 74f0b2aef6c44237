"""Sequence-to-sequence training: teacher forcing, scheduled sampling, copying, guided attention,
and a small Transformer that learns to reverse digit strings.

繁中：訓練時解碼器的輸入是正確答案（教師強制，teacher forcing，筆記 4.7），損失是輸出分布與
正確答案的交叉熵。筆記 4.8 的訓練技巧：計畫採樣（scheduled sampling）對抗曝光偏差
（exposure bias）；複製機制（copy mechanism）讓解碼器從輸入複製詞元；引導注意力（guided
attention）要求注意力有固定的樣貌（例如由左到右）。
English: in training the decoder is fed the right answer (teacher forcing, notes 4.7) and the
loss is the cross-entropy between its output distribution and the answer. Notes 4.8's tricks:
scheduled sampling against exposure bias, the copy mechanism (the decoder copies tokens from
its input), and guided attention (attention follows a fixed pattern, e.g. left to right).

Token ids of the reversal task: 0–9 digits, 10 BOS, 11 EOS, 12 PAD (vocabulary 13).
"""

import math

import torch
from torch import nn

from .blocks import TransformerDecoderBlock, TransformerEncoderBlock

BOS, EOS, PAD = 10, 11, 12
VOCAB = 13

STEPS = 300  # optimizer steps of train_reverse: about 12 s on one CPU thread
BATCH = 128
LR = 5e-3  # the peak of the one-cycle schedule


def shift_right(targets, bos_id):
    """Decoder inputs for teacher forcing: BOS, then the targets without their last token (notes 4.7).

    繁中：targets (N, T) long → (N, T)：第 0 欄是 bos_id，第 t 欄是 targets 的第 t − 1 欄
    （最後一欄被捨棄）。解碼器在位置 t 看到正確答案的前 t 個詞元，預測第 t 個。不修改輸入。
    English: targets (N, T) long → (N, T): column 0 is bos_id, column t is column t − 1 of
    targets (the last column is dropped), so that at position t the decoder sees the first t
    tokens of the answer and predicts token t. Leaves targets unchanged; keeps dtype and device.
    """
    bos = torch.full_like(targets[:, :1], bos_id)  # (N, 1)
    return torch.cat([bos, targets[:, :-1]], dim=1)  # (N, T)


def teacher_forcing_loss(logits, targets, pad_id):
    """Mean cross-entropy over the positions whose target is not padding (notes 4.7).

    繁中：logits (N, T, V)、targets (N, T) long；每個非 pad 位置的 −log softmax(logits)[目標]
    取平均（pad 位置不算，也不在分母）。與
    ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)``
    的值與梯度相同（至少要有一個非 pad 位置）。
    English: logits (N, T, V), targets (N, T) long; the mean over non-pad positions of
    −log softmax(logits)[target] (pad positions count neither in the sum nor in the count).
    Matches ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=pad_id)``
    in value and gradient (at least one position is not padding).
    """
    logp = logits - torch.logsumexp(logits, dim=-1, keepdim=True)  # (N, T, V) log-softmax
    keep = targets != pad_id  # (N, T)
    safe = targets.masked_fill(~keep, 0)  # any valid index where the target is padding
    nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (N, T)
    return (nll * keep).sum() / keep.sum()


def scheduled_sampling(gold_inputs, predicted_inputs, teacher_forcing_prob, generator=None):
    """Mix gold and predicted decoder inputs, position by position (scheduled sampling, notes 4.8).

    繁中：gold_inputs、predicted_inputs 形狀 (N, T) long。每個位置獨立地以機率
    teacher_forcing_prob 保留正確（gold）詞元，否則換成模型預測的詞元；位置 0（BOS）永遠是
    gold。亂數只能來自 ``generator``（例如 ``torch.rand(..., generator=generator)``）：同樣的
    generator 狀態得到同樣的結果。不修改輸入。
    English: gold_inputs, predicted_inputs (N, T) long. Each position independently keeps the
    gold token with probability teacher_forcing_prob, else takes the predicted one; position 0
    (BOS) is always gold. All randomness comes from ``generator`` (e.g.
    ``torch.rand(..., generator=generator)``): the same generator state gives the same result.
    Leaves its inputs unchanged.
    """
    u = torch.rand(gold_inputs.shape, generator=generator).to(gold_inputs.device)  # (N, T) uniform
    keep = u < teacher_forcing_prob
    keep[:, 0] = True  # BOS is never replaced
    return torch.where(keep, gold_inputs, predicted_inputs)


def copy_distribution(p_vocab, attention, src_ids, p_gen, extended_vocab_size):
    """The pointer-generator mixture of generating and copying (copy mechanism, notes 4.8).

    繁中：p_vocab (N, V) 是生成詞元的機率，attention (N, S) 是對輸入各位置的注意力（每列和為
    1），src_ids (N, S) long 是輸入各位置的詞元編號（< extended_vocab_size，可能重複），
    p_gen (N, 1) 是「生成」的機率。輸出 (N, V_ext)：p_gen·p_vocab（補零到 V_ext 欄）加上
    (1 − p_gen)·attention 依 src_ids 累加到對應的欄（同一個詞元出現多次時機率相加）。每列和為
    1。對 p_vocab、attention、p_gen 都可微分。
    English: p_vocab (N, V) the generation distribution, attention (N, S) over the source
    positions (rows sum to 1), src_ids (N, S) long the source tokens (< extended_vocab_size,
    repeats allowed), p_gen (N, 1) the probability of generating. Returns (N, V_ext):
    p_gen·p_vocab zero-padded to V_ext columns, plus (1 − p_gen)·attention added onto the columns
    of src_ids (a token that occurs several times gets the sum of its positions' mass). Rows sum
    to 1; differentiable in p_vocab, attention and p_gen.
    """
    N, V = p_vocab.shape
    out = p_vocab.new_zeros(N, extended_vocab_size)  # (N, V_ext)
    out = torch.cat([p_gen * p_vocab, out[:, V:]], dim=1)  # generated part, zero-padded
    return out.scatter_add(1, src_ids, (1 - p_gen) * attention)  # copied part: repeats add up


def guided_attention_loss(attention, g=0.2):
    """Penalty for attention far from the diagonal (guided attention, notes 4.8).

    繁中：attention (..., T_out, T_in)。權重 W[i, j] = 1 − exp(−(i/T_out − j/T_in)² / (2g²))，
    i = 0…T_out − 1、j = 0…T_in − 1；回傳 attention ⊙ W 所有元素的平均（純量）。注意力集中在
    對角線附近（由左到右）時損失小。
    English: attention (..., T_out, T_in). With W[i, j] = 1 − exp(−(i/T_out − j/T_in)² / (2g²)),
    i = 0…T_out − 1 and j = 0…T_in − 1, returns the mean of attention ⊙ W over every element (a
    scalar). Attention near the diagonal (left to right) costs little.
    """
    T_out, T_in = attention.shape[-2:]
    i = torch.arange(T_out, device=attention.device, dtype=attention.dtype) / T_out  # (T_out,)
    j = torch.arange(T_in, device=attention.device, dtype=attention.dtype) / T_in  # (T_in,)
    w = 1 - torch.exp(-((i[:, None] - j[None, :]) ** 2) / (2 * g * g))  # (T_out, T_in)
    return (attention * w).mean()


class Seq2SeqTransformer(nn.Module):
    """An encoder-decoder Transformer for the reversal task, made of this chapter's blocks.

    繁中：用 blocks.py 的 ``TransformerEncoderBlock`` 與 ``TransformerDecoderBlock`` 組成
    （不可用 ``nn.Transformer*``）。``Seq2SeqTransformer()`` 不帶參數就能建立，而且就是
    train_reverse 回傳的架構：評分時會用不帶參數的建構子重新建立模型，再載入訓練好的權重
    （``load_state_dict``，嚴格比對）。``forward(src, tgt_in) -> logits``：src (N, S) long
    （數字，右邊以 PAD 補齊），tgt_in (N, T) long（第一個是 BOS）→ (N, T, 13) float32 logits，
    位置 t 的 logits 預測 tgt_in 之後的第 t 個輸出詞元，只能依賴 tgt_in 的前 t + 1 個詞元
    （因果遮罩）。S ≤ 8、T ≤ 9。
    English: made of blocks.py's ``TransformerEncoderBlock`` and ``TransformerDecoderBlock`` (no
    ``nn.Transformer*``). ``Seq2SeqTransformer()`` builds with no arguments, and that is the
    architecture train_reverse returns: the grader rebuilds the model with the no-argument
    constructor and loads the trained weights (``load_state_dict``, strict). ``forward(src,
    tgt_in) -> logits``: src (N, S) long (digits, right-padded with PAD), tgt_in (N, T) long (BOS
    first) → (N, T, 13) float32 logits; position t predicts the output token after tgt_in[:, t]
    and depends only on tgt_in[:, :t + 1] (a causal mask). S ≤ 8, T ≤ 9.
    """

    def __init__(self, d_model=64, num_heads=4, d_ff=128, num_layers=2, max_len=16):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.pos = nn.Embedding(max_len, d_model)  # learned positions (notes 3.4)
        self.encoder = nn.ModuleList(TransformerEncoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers))
        self.decoder = nn.ModuleList(TransformerDecoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers))
        self.out = nn.Linear(d_model, VOCAB)
        self.scale = math.sqrt(d_model)

    def forward(self, src, tgt_in):
        S, T = src.shape[1], tgt_in.shape[1]
        keep = (src != PAD)[:, None, :]  # (N, 1, S): padding is never attended to
        x = self.embed(src) * self.scale + self.pos(torch.arange(S, device=src.device))  # (N, S, D)
        for block in self.encoder:
            x = block(x, keep)
        causal = torch.ones(T, T, dtype=torch.bool, device=src.device).tril()  # (T, T) True = may attend
        y = self.embed(tgt_in) * self.scale + self.pos(torch.arange(T, device=src.device))  # (N, T, D)
        for block in self.decoder:
            y = block(y, x, causal, keep)
        return self.out(y)  # (N, T, VOCAB)


def reversal_batch(n, generator, min_len=3, max_len=8):
    """A batch for the reversal task: (src, tgt) long, right-padded with PAD.

    繁中：n 個長度在 [min_len, max_len] 之間的隨機數字串；src 是數字串，tgt 是反轉後的數字串
    再接 EOS。輔助函式，不單獨評分。
    English: n random digit strings of lengths in [min_len, max_len]; src is the string, tgt the
    reversed string followed by EOS. A helper; not graded on its own.
    """
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)
    digits = torch.randint(0, 10, (n, max_len), generator=generator)
    pos = torch.arange(max_len)
    src = torch.where(pos < lengths[:, None], digits, PAD)  # (n, max_len)
    rev = (lengths[:, None] - 1 - pos).clamp(min=0)  # index of the digit that goes at each position
    tgt = torch.full((n, max_len + 1), PAD)
    tgt[:, :max_len] = torch.where(pos < lengths[:, None], digits.gather(1, rev), PAD)
    tgt[torch.arange(n), lengths] = EOS  # (n, max_len + 1)
    return src, tgt


def train_reverse(seed=0, device="cpu"):
    """Train a Seq2SeqTransformer to reverse digit strings of lengths 3–8 (notes 4.7).

    繁中：輸入是 3 到 8 位的數字串（0–9），目標是反轉後的數字串接 EOS。用教師強制訓練：
    解碼器輸入 = shift_right(目標, BOS)，損失是忽略 PAD 的交叉熵。所有隨機性由 ``seed`` 決定；
    在單一 CPU 執行緒上要在 60 秒內完成（參考解約 15 秒）。回傳訓練好的模型（在 ``device`` 上）。
    評分：評分程式只取模型的權重（``state_dict``），在另一個沒有訓練過的行程中用
    ``Seq2SeqTransformer()`` 重建模型、載入權重，自己做貪心解碼（只呼叫 ``forward``）：
    src 是一批長度混合、右邊以 PAD 補齊的新數字串（由評分的 seed 產生），tgt_in 從 (N, 1) 的
    BOS 開始，每步接上最後一個位置 logits 的 argmax，共 S + 1 步。前 len + 1 個詞元等於反轉
    數字串加 EOS 才算對。完全正確率 ≥ 0.95 得滿分，0.5 到 0.95 之間依比例給分。
    English: inputs are digit strings (0–9) of 3 to 8 digits, targets the reversed string
    followed by EOS. Train with teacher forcing: decoder input = shift_right(target, BOS), the
    loss a cross-entropy that ignores PAD. All randomness comes from ``seed``; training must end
    within 60 s on one CPU thread (the reference takes about 15 s). Returns the trained model on
    ``device``.
    Grading: the grader takes only the model's weights (``state_dict``), rebuilds
    ``Seq2SeqTransformer()`` in another process that never trained, loads them, and decodes
    greedily itself, calling only ``forward``: src is a batch of fresh strings of mixed lengths
    drawn from the grading seed, right-padded with PAD; tgt_in starts as (N, 1) BOS and each step
    appends the argmax of the last position's logits, S + 1 steps in all. A string counts when the
    first len + 1 tokens are its reversed digits and EOS. Exact-match accuracy ≥ 0.95 earns full
    points, proportional credit from 0.5 to 0.95.
    """
    torch.manual_seed(seed)  # initial weights
    gen = torch.Generator().manual_seed(seed)  # training strings
    model = Seq2SeqTransformer().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.15)
    model.train()
    for _ in range(STEPS):
        src, tgt = reversal_batch(BATCH, gen)
        src, tgt = src.to(device), tgt.to(device)
        tgt_in = torch.cat([torch.full_like(tgt[:, :1], BOS), tgt[:, :-1]], dim=1)  # shift_right, written out
        logits = model(src, tgt_in)  # (B, T, VOCAB)
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return model
