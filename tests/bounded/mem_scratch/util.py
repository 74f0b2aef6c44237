import torch


def halve(x):
    # 60 MiB in the scratch /tmp (a tmpfs: memory), then 350 MiB in the process: only a cap that
    # counts the scratch stops it at a 384 MiB limit.
    for name in ("a", "b"):  # two files of 30 MiB: each below the file-size limit
        with open(f"/tmp/fill-{name}", "wb") as f:
            for _ in range(30):
                f.write(b"\1" * (1 << 20))
    hoard = torch.ones(350 << 18)  # float32: 350 MiB, touched
    return torch.zeros_like(x) + hoard[0] * 0
