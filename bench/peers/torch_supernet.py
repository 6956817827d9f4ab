"""The NB201 supernet of bench/supernet.ts in PyTorch 1.13 (Debian's python3-torch): the same
macro network, mixed edges (none, skip, ReLU-conv1x1-BN, ReLU-conv3x3-BN, avg-pool 3x3 without
padding counts) weighted by a softmax of per-edge logits, one DARTS weight step (forward,
cross-entropy, backward, SGD with momentum) per batch of random images.

    /usr/bin/python3 torch_supernet.py CHANNELS CELLS BATCH INPUT STEPS WARMUP THREADS
Prints one JSON line: {"torch", "img_s", "step_ms"}.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ReluConvBn(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(F.relu(x)))


class MixedEdge(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ReluConvBn(c, c, 1, 1)
        self.conv3 = ReluConvBn(c, c, 3, 1)

    def forward(self, x, w):
        # none contributes nothing; skip, conv1x1, conv3x3, avg-pool weighted by w[1..4]
        return x * w[1] + self.conv1(x) * w[2] + self.conv3(x) * w[3] + F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) * w[4]


EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]


class Cell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList([MixedEdge(c) for _ in EDGES])

    def forward(self, x, weights):
        nodes = [x]
        for j in range(1, 4):
            s = None
            for e, (a, b) in enumerate(EDGES):
                if b != j:
                    continue
                y = self.edges[e](nodes[a], weights[e])
                s = y if s is None else s + y
            nodes.append(s)
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReluConvBn(cin, cout, 3, 2)
        self.b = ReluConvBn(cout, cout, 3, 1)
        self.short = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.short(F.avg_pool2d(x, 2, 2))


class Supernet(nn.Module):
    def __init__(self, c, n, classes=10, cin=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        body = []
        width = c
        for stage in range(3):
            if stage > 0:
                body.append(Reduction(width, width * 2))
                width *= 2
            body += [Cell(width) for _ in range(n)]
        self.body = nn.ModuleList(body)
        self.last = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, classes)

    def forward(self, x, weights):
        y = self.stem(x)
        for m in self.body:
            y = m(y, weights) if isinstance(m, Cell) else m(y)
        y = F.relu(self.last(y))
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


def main():
    c, n, batch, size, steps, warmup, threads = (int(v) for v in sys.argv[1:8])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = Supernet(c, n)
    alphas = (torch.randn(6, 5) * 1e-3).requires_grad_(True)
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, 10, (batch,))
    t0 = None
    for s in range(warmup + steps):
        if s == warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(net(x, F.softmax(alphas.detach(), 1)), y)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5)
        opt.step()
    dt = time.perf_counter() - t0
    print(json.dumps({"torch": torch.__version__, "img_s": batch * steps / dt, "step_ms": 1000 * dt / steps}))


if __name__ == "__main__":
    main()
