"""Contrastive learning: SimCLR's NT-Xent loss, random views of digits, a self-supervised encoder.

對比學習（筆記第五章只有標題；以下依 SimCLR 論文說明：Chen, Kornblith, Norouzi & Hinton,
"A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020）。同一張圖做
兩次隨機增強得到兩個「視角」，它們是一對正樣本；同一批裡其他圖的視角都是負樣本。編碼器學著讓
正樣本的表示互相靠近、與負樣本遠離，完全不需要標籤。學好之後，凍結編碼器，只用少量有標籤的
資料訓練一個線性分類器（linear probe），就能衡量表示的好壞。
Contrastive learning (chapter 5 of the notes has only its heading; this follows SimCLR: Chen,
Kornblith, Norouzi & Hinton, ICML 2020). Two random augmentations of one image give two views,
a positive pair; the views of every other image in the batch are negatives. The encoder learns
to bring a positive pair's representations together and push the negatives apart, without a
single label. A linear classifier trained on the frozen features with a few labels (a linear
probe) then measures how good the representation is.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

EPOCHS = 1
WIDTH = 128
C1, C2 = 32, 64  # convolution channels
ROT, SCALE, ERASE = 20.0, 0.2, 0.3  # degrees, relative scale, share of images with a patch erased
BATCH_SIZE = 256
LR = 2e-3
TEMPERATURE = 0.2  # sharper than the default 0.5: better probes in few epochs


def nt_xent_loss(z1, z2, temperature=0.5):
    """SimCLR's normalized temperature-scaled cross-entropy for N positive pairs (z1[i], z2[i]).

    繁中：z1、z2 形狀 (N, d)。先把 2N 個向量 L2 正規化，算出 2N×2N 的餘弦相似度矩陣再除以
    temperature；每一列把自己與自己的相似度排除（不當成候選），對其餘 2N − 1 個候選做
    softmax 交叉熵，正確答案是它的搭檔（z1[i] 的搭檔是 z2[i]，反之亦然）。回傳 2N 列的平均。
    dtype 與輸入相同，梯度流向 z1 與 z2。
    English: z1 and z2 are (N, d). L2-normalise the 2N vectors, take the 2N×2N cosine
    similarities divided by ``temperature``, exclude each row's similarity with itself (it is
    not a candidate), and take the softmax cross-entropy over the other 2N − 1 candidates towards
    the partner (z2[i] for z1[i] and the other way round). Returns the mean over the 2N rows, in
    the inputs' dtype; the gradient flows into z1 and z2.
    """
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, d) unit vectors
    sim = z @ z.T / temperature  # (2N, 2N)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # a row never picks itself
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # (2N,)
    return F.cross_entropy(sim, partner)


def augment_digits(images, generator=None):
    """Random, label-preserving views of 8×8 digit images (N, 1, 8, 8), same shape and dtype.

    繁中：每張圖獨立地做隨機增強：小角度旋轉與縮放、最多 1 像素的平移、加上少量雜訊、
    偶爾擦掉一小塊。增強後仍要看得出是同一個數字（標籤不變），但兩次呼叫的結果不同。
    所有隨機數都從 ``generator``（CPU 的 ``torch.Generator``；``None`` 表示全域亂數）抽取，
    所以同一個種子得到同樣的視角。不修改輸入；結果與輸入同裝置、同 dtype。
    English: each image gets its own random augmentation: a small rotation and scaling, a shift
    of at most one pixel, a little noise, now and then a small erased patch. A view must still
    show the same digit (the label is preserved), yet two calls give different views. Every
    random number comes from ``generator`` (a CPU ``torch.Generator``; ``None`` for the global
    RNG), so one seed gives the same views. The input is not modified; the views have its
    device and dtype.
    """
    n, dev, dt = len(images), images.device, images.dtype

    def rand(*shape):  # uniform in [0, 1), from the generator, on the images' device
        return torch.rand(*shape, generator=generator, dtype=torch.float64).to(device=dev, dtype=dt)

    angle = (rand(n) - 0.5) * (2 * math.radians(ROT))  # ±ROT°
    scale = 1 - SCALE + 2 * SCALE * rand(n)  # ×(1 ± SCALE)
    shift = (torch.randint(-1, 2, (n, 2), generator=generator).to(device=dev, dtype=dt)) * (2 / 8)  # ±1 px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (N, 8, 8, 2)
    views = F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")  # (N, 1, 8, 8)
    views = views + 0.05 * torch.randn(views.shape, generator=generator, dtype=torch.float64).to(device=dev, dtype=dt)
    # erase a 3×3 patch from half of the images
    top, left = torch.randint(0, 6, (2, n), generator=generator).to(dev)
    rows, cols = torch.arange(8, device=dev), torch.arange(8, device=dev)
    patch = (((rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + 3))[:, :, None]
             & ((cols[None, :] >= left[:, None]) & (cols[None, :] < left[:, None] + 3))[:, None, :])  # (N, 8, 8)
    erase = patch & (rand(n) < ERASE)[:, None, None]
    return views.masked_fill(erase[:, None], 0.0).clamp(0.0, 1.0)


class DigitEncoder(nn.Module):
    """An encoder from (N, 1, 8, 8) images to (N, 32) features; buildable with no arguments.

    繁中：``train_contrastive_encoder`` 回傳這個類別（或你在本檔案中定義、不需參數即可建立的
    其他 nn.Module 類別）的實例：評分程式只取回權重，在另一個全新的行程中以 ``DigitEncoder()``
    重建並載入權重後評分。
    English: ``train_contrastive_encoder`` returns an instance of this class (or of another
    ``nn.Module`` class of this file that builds with no arguments): the grader takes back only
    the weights, rebuilds it in a fresh process and loads them before scoring.
    """

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, C1, 3, padding=1), nn.BatchNorm2d(C1), nn.ReLU(),
            nn.Conv2d(C1, C2, 3, padding=1), nn.BatchNorm2d(C2), nn.ReLU(),
            nn.MaxPool2d(2),  # (N, C2, 4, 4)
            nn.Flatten(),
            nn.Linear(C2 * 4 * 4, WIDTH), nn.BatchNorm1d(WIDTH), nn.ReLU(),
            nn.Linear(WIDTH, 32),
        )

    def forward(self, x):
        return self.net(x)  # (N, 32)


def train_contrastive_encoder(x_unlabelled, seed=0, device="cpu"):
    """Train an encoder (N, 1, 8, 8) → (N, 32) with ``nt_xent_loss`` on unlabelled digits.

    繁中：``x_unlabelled`` 由評分程式傳入：scikit-learn ``load_digits`` 的訓練集影像
    （float32，(N, 1, 8, 8)，像素除以 16），沒有標籤。每一批做兩次 ``augment_digits`` 得到兩個
    視角，以 ``nt_xent_loss`` 訓練。評分時在凍結的特徵上，用評分程式挑的 50 張有標籤訓練影像
    （每類 5 張；換 20 組取平均）訓練邏輯斯迴歸（linear probe），再計算測試集正確率：≥ 0.89 滿分，
    0.85 到 0.89 之間依比例給分（同樣的 probe 直接用像素約 0.86）。回傳的模型必須是本檔案中、不需參數即可
    建立的類別（例如 ``DigitEncoder``）；評分程式只取回權重，在新行程中重建模型再評分。
    訓練要在單一 CPU 執行緒上 60 秒內完成（參考解約 8 秒）；所有隨機性由 ``seed`` 決定。
    English: the grader passes ``x_unlabelled``: the images of scikit-learn's ``load_digits``
    training split (float32, (N, 1, 8, 8), pixels divided by 16), without labels. Each batch is
    augmented twice with ``augment_digits`` and the two views trained with ``nt_xent_loss``. The
    grader fits a logistic-regression probe on the frozen features of 50 labelled training
    images it picks (five per class; the mean over 20 such picks) and scores test accuracy: full
    points at ≥ 0.89, proportional credit from 0.85 (the same probe on raw pixels scores about 0.86). Return an
    instance of a class of this file that builds with no arguments (``DigitEncoder``, say): only
    its weights go back, and a fresh process rebuilds it to be scored. Training must end within
    60 s on one CPU thread (the reference takes about 8 s); all randomness comes from ``seed``.
    """
    torch.manual_seed(seed)  # the initial weights
    gen = torch.Generator().manual_seed(seed)  # batches and augmentations
    x = x_unlabelled.to(device=device, dtype=torch.float32)
    encoder = DigitEncoder().to(device)
    # SimCLR trains through a small projection head and keeps the features before it
    head = nn.Sequential(nn.ReLU(), nn.Linear(32, 32)).to(device)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    steps = EPOCHS * math.ceil(len(x) / BATCH_SIZE)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    encoder.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen).to(device)
        for i in range(0, len(x), BATCH_SIZE):
            batch = x[order[i : i + BATCH_SIZE]]
            if len(batch) < 2:
                continue  # a pair needs another image as its negative
            v1, v2 = augment_digits(batch, gen), augment_digits(batch, gen)
            loss = nt_xent_loss(head(encoder(v1)), head(encoder(v2)), TEMPERATURE)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    encoder.eval()
    return encoder
