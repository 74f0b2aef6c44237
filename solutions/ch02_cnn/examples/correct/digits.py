"""A small CNN for scikit-learn's 8×8 handwritten digits.

一個小型卷積神經網路（筆記第二章）：卷積層與池化層交替，扁平化後接全連接層，最後輸出
10 類的 logits（softmax 之前的分數；筆記 2.6 末段）。
A small CNN (notes chapter 2): convolutions and pooling alternate, the result is flattened and
fed to fully connected layers that give the logits of the 10 classes (notes 2.6, last
paragraph). torch's own layers are allowed in this file.
"""

import torch
from torch import nn

from torch.nn import functional as F

EPOCHS = 40
BATCH_SIZE = 64
LR = 4e-3  # the peak of the one-cycle schedule


class DigitCNN(nn.Module):
    """Input (N, 1, 8, 8) pixels in [0, 1]; output logits (N, 10).

    繁中：至少一個卷積層、一個池化層、一個全連接層（可以使用 torch 的 nn.Conv2d、
    nn.MaxPool2d、nn.Linear）。輸出是 logits，不要在最後加 softmax：損失函數
    （交叉熵）自己會做。
    English: at least one convolution, one pooling and one fully connected layer (torch's
    ``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Linear`` are allowed). Return logits, not
    probabilities: the cross-entropy loss applies the softmax itself. Any batch size works,
    N = 1 included (the output stays (1, 10)).
    """

    def __init__(self):
        super().__init__()
        # 8×8 → conv 3×3 (pad 1) → 8×8 → conv 3×3 (pad 1) → 8×8 → max pool 2 → 4×4
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        h = self.features(x)  # (N, 64, 4, 4)
        return self.head(h.flatten(1))  # (N, 64*4*4) → (N, 10)


def train_digits(x_train, y_train, seed=0, device="cpu"):
    """Train a DigitCNN on the digits training split that the grader passes in.

    繁中：``x_train`` 是 float32 的 (N, 1, 8, 8) 影像（像素已除以 16，範圍 0–1），``y_train``
    是 int64 的 (N,) 標籤：scikit-learn ``load_digits`` 以 ``train_test_split(test_size=0.25,
    random_state=0, stratify=y)`` 切出的訓練集，由評分程式傳入（測試集不會進入你的程式）。
    評分時，評分程式在另一個全新的沙箱裡重建 ``DigitCNN()``、載入你回傳模型的權重
    （``state_dict``），再在測試集（以及加了少量雜訊的副本）上計算正確率：≥ 0.96 得滿分，
    0.80 到 0.96 之間依比例給分。所以要回傳一個 ``DigitCNN``，模型的行為必須全在權重裡。
    損失是交叉熵（筆記第二章開頭：softmax 輸出與獨熱向量的交叉熵越小越好）。訓練要在單一
    CPU 執行緒上 120 秒內完成（參考解約 10 秒）。所有隨機性都由 ``seed`` 決定。
    English: ``x_train`` float32 (N, 1, 8, 8) images (pixels divided by 16, in [0, 1]),
    ``y_train`` int64 (N,) labels: the training split of scikit-learn's ``load_digits``
    (``train_test_split(test_size=0.25, random_state=0, stratify=y)``), passed in by the grader
    (the test split never reaches your code). To score, the grader builds a new ``DigitCNN()`` in
    a fresh sandbox, loads the returned model's weights (its ``state_dict``) and measures accuracy
    on the test split (and on slightly noisy copies of it): full points at ≥ 0.96, proportional
    credit from 0.80 to 0.96. So return a ``DigitCNN``; everything it does must live in its
    weights. Minimise the cross-entropy between the softmax of the logits and the one-hot labels
    (chapter 2's introduction). Training must end within 120 s on one CPU thread (the reference
    takes about 10 s). All randomness comes from ``seed``. Returns the trained model on ``device``.
    """
    torch.manual_seed(seed)  # the layers' initial weights
    gen = torch.Generator().manual_seed(seed)  # the order of the mini-batches
    x = x_train.to(device=device, dtype=torch.float32)  # (N, 1, 8, 8)
    y = y_train.to(device=device, dtype=torch.int64)
    model = DigitCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps = EPOCHS * ((len(x) + BATCH_SIZE - 1) // BATCH_SIZE)
    # warm up, then anneal: the last epochs polish the weights at a small step size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), BATCH_SIZE):
            idx = order[i : i + BATCH_SIZE]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model
