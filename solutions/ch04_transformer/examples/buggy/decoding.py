"""Decoding: greedy, beam search and non-autoregressive (notes 4.5, 4.8).

繁中：自回歸解碼器（筆記 4.5）從 BOS 開始，每一步把目前的前綴（prefix）送進模型，得到下一個
詞元的對數機率（log-probabilities），直到產生 EOS。貪心搜索每一步都選機率最高的詞元；束搜索
（beam search，筆記 4.8）每一步保留總對數機率最高的幾個假設，是窮舉搜索的有效近似。非自回歸
解碼器（筆記 4.5）先用分類器決定輸出長度，再一次平行產生所有位置。
English: an autoregressive decoder (notes 4.5) starts from BOS and feeds the current prefix back
to get the log-probabilities of the next token, until EOS. Greedy search takes the most likely
token at each step; beam search (notes 4.8) keeps the few hypotheses of highest total
log-probability, an efficient approximation of exhaustive search. A non-autoregressive decoder
(notes 4.5) first picks the output length with a classifier, then every position at once.

``step_fn(prefix) -> Tensor``: given a 1-D LongTensor prefix (starting with BOS) returns the
log-probabilities (V,) of the next token. Outputs exclude BOS and include EOS when it is
produced; ``max_len`` counts output tokens (BOS not included). Return plain lists of ints.
"""

import torch


def greedy_decode(step_fn, bos_id, eos_id, max_len):
    """Greedy decoding: the most likely next token, until EOS or ``max_len`` tokens.

    繁中：從前綴 [bos_id] 開始，每一步取 step_fn(prefix) 最大的詞元接在後面；產生 eos_id 就停
    （eos_id 包含在輸出中），或已經產生 max_len 個詞元就停。同分時取編號最小的詞元
    （``torch.argmax`` 的規則）。回傳不含 BOS 的 list[int]。
    English: from the prefix [bos_id], append the argmax of step_fn(prefix) until eos_id is
    produced (it is part of the output) or max_len tokens have been produced. Ties go to the
    smallest token id (``torch.argmax``'s rule). Returns a list[int] without BOS.
    """
    out = []
    while len(out) < max_len:
        logp = step_fn(torch.tensor([bos_id] + out, dtype=torch.long))  # (V,)
        token = int(torch.argmax(logp))
        out.append(token)
        if token == eos_id:
            break
    return out


def beam_search(step_fn, bos_id, eos_id, beam_size, max_len):
    """Beam search: the best finished hypothesis found with ``beam_size`` live hypotheses.

    繁中：一個假設（hypothesis）是一串輸出詞元，分數是各步對數機率的總和。從唯一的空假設開始；
    每一步把每個還在進行（live）的假設接上每一個詞元，在所有延伸中保留分數最高的 beam_size 個；
    其中以 eos_id 結尾、或已有 max_len 個詞元的假設就「完成」（finished）並離開束，其餘繼續。
    沒有進行中的假設時停止，回傳所有完成的假設中分數最高的（不含 BOS 的 list[int]）。
    beam_size = 1 就是貪心搜索；束至少和所有可能序列一樣寬時，等於窮舉搜索。同分的延伸之間
    取哪一個不計分：評分用的表格讓答案唯一。
    English: a hypothesis is a list of output tokens scored by the sum of its log-probabilities.
    Start from the single empty hypothesis; at each step extend every live hypothesis by every
    token and keep the beam_size best extensions overall; those that end with eos_id or have
    max_len tokens are finished and leave the beam, the others stay live. Stop when no hypothesis
    is live and return the highest-scoring finished one (a list[int] without BOS).
    beam_size = 1 is greedy search; a beam at least as wide as the number of possible sequences is
    exhaustive search. Which of two tied extensions is kept is never graded: the tables used for
    grading make the answer unique.
    """
    live = [[]]  # token lists, without BOS
    live_scores = torch.zeros(1, dtype=torch.float64)  # (B,) total log-probability of each
    finished = []  # (score, tokens)
    for _ in range(max_len):
        logp = torch.stack([step_fn(torch.tensor([bos_id] + t, dtype=torch.long)) for t in live])  # (B, V)
        total = live_scores[:, None] + logp.to(torch.float64)  # (B, V): score of every extension
        V = total.shape[1]
        k = min(beam_size, total.numel())
        scores, flat = torch.topk(total.flatten(), k)  # (k,), best first
        next_live, next_scores = [], []
        for score, i in zip(scores.tolist(), flat.tolist()):
            tokens = live[i // V] + [i % V]
            if tokens[-1] == eos_id or len(tokens) == max_len:
                finished.append((score, tokens))  # done: it leaves the beam
            else:
                next_live.append(tokens)
                next_scores.append(score)
        if finished or not next_live:
            break
        live, live_scores = next_live, torch.tensor(next_scores, dtype=torch.float64)
    return max(finished, key=lambda f: f[0])[1]


def non_autoregressive_decode(length_logits, token_logits):
    """Non-autoregressive decoding: predict the length, then every token in parallel (notes 4.5).

    繁中：length_logits (L_max + 1,)：第 L 個分數代表輸出長度為 L；取最大者為長度 L。
    token_logits (T, V)，T ≥ L：每一列是一個位置的詞元分數。回傳前 L 列各自的 argmax
    （list[int]，長度 L；L = 0 時為空 list）。不要逐位置呼叫模型：一次平行算完。同分時取編號
    最小者（``torch.argmax``）。
    English: length_logits (L_max + 1,): entry L scores the output length L; the length L is
    its argmax. token_logits (T, V) with T ≥ L: one row of token scores per position. Returns
    the argmax of each of the first L rows (a list[int] of length L, empty for L = 0), all in
    parallel. Ties go to the smallest index (``torch.argmax``).
    """
    length = int(torch.argmax(length_logits))
    return torch.argmax(token_logits[:length], dim=-1).tolist()
