import { NB201_EDGES, parseArchString } from "../benchmarks/nb201.js";
import { UserError } from "../core/errors.js";
import type { Json } from "../core/json.js";

export interface PytorchExportOptions {
  /** Network builder of the architecture; `nb201` is the one archsearch has today. */
  model?: "nb201";
  channels?: number;
  cellsPerStage?: number;
  classes?: number;
  inputChannels?: number;
}

/**
 * Python source of a standalone PyTorch `nn.Module` for an architecture: it imports only torch,
 * and its parameter names equal those of archsearch's own network, so the file's
 * `load_archsearch_weights` reads a checkpoint written by archsearch's `saveModule`.
 */
export function exportPytorch(arch: Json, opts: PytorchExportOptions = {}): string {
  const model = opts.model ?? "nb201";
  if (model !== "nb201") throw new UserError(`no PyTorch exporter for model "${model}" (known: nb201)`);
  if (typeof arch !== "string" || !parseArchString(arch)) {
    throw new UserError(`PyTorch export of an nb201 model needs a NAS-Bench-201 architecture string, got ${JSON.stringify(arch)}`);
  }
  const ops = parseArchString(arch)!;
  const edges = NB201_EDGES.map(([s, t], k) => `    (${s}, ${t}, "${ops[k]}"),`).join("\n");
  const c = opts.channels ?? 16;
  const n = opts.cellsPerStage ?? 5;
  const classes = opts.classes ?? 10;
  const cin = opts.inputChannels ?? 3;
  return `# A NAS-Bench-201 network exported by archsearch. Standalone: needs only PyTorch.
#   cell: ${arch}
#   channels ${c}, cells per stage ${n}, classes ${classes}, input channels ${cin}
# build() returns the network; load_archsearch_weights(net, path) loads an archsearch checkpoint.
# Runs as a script: prints the architecture and its parameter count.
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = ${JSON.stringify(arch)}
# (from node, to node, operation) for the six edges of the cell
EDGES = [
${edges}
]
CHANNELS = ${c}
CELLS_PER_STAGE = ${n}
CLASSES = ${classes}
INPUT_CHANNELS = ${cin}


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(F.relu(x)))


class Edge(nn.Module):
    def __init__(self, kind, channels):
        super().__init__()
        self.kind = kind
        if kind == "nor_conv_1x1":
            self.op = ReLUConvBN(channels, channels, 1, 1)
        elif kind == "nor_conv_3x3":
            self.op = ReLUConvBN(channels, channels, 3, 1)

    def forward(self, x):
        if self.kind == "none":
            return x * 0.0
        if self.kind == "skip_connect":
            return x
        if self.kind == "avg_pool_3x3":
            return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return self.op(x)


class Cell(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.edges = nn.ModuleDict({f"{s}to{t}": Edge(kind, channels) for s, t, kind in EDGES})

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            nodes.append(sum(self.edges[f"{s}to{t}"](nodes[s]) for s, t, _ in EDGES if t == j))
        return nodes[3]


class ResidualReduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1)
        self.downsample = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.downsample(F.avg_pool2d(x, 2, 2))


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class LastAct(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return F.relu(self.bn(x))


class Network(nn.Module):
    def __init__(self, channels=CHANNELS, cells_per_stage=CELLS_PER_STAGE, classes=CLASSES, input_channels=INPUT_CHANNELS):
        super().__init__()
        self.stem = Stem(input_channels, channels)
        cells, width = [], channels
        for stage in range(3):
            if stage > 0:
                cells.append(ResidualReduction(width, width * 2))
                width *= 2
            cells.extend(Cell(width) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(cells)
        self.lastact = LastAct(width)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build():
    return Network()


_DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}


def read_archsearch_tensors(path):
    """Reads a tensor file written by archsearch (a magic line, a JSON index line, raw little-endian data)."""
    with open(path, "rb") as f:
        raw = f.read()
    magic = b"ARCHSEARCH-TENSORS-1\\n"
    if not raw.startswith(magic):
        raise ValueError(f"{path} is not an archsearch tensor file")
    end = raw.index(b"\\n", len(magic))
    index = json.loads(raw[len(magic):end])
    base = end + 1
    out = {}
    for e in index:
        chunk = bytearray(raw[base + e["offset"]: base + e["offset"] + e["bytes"]])
        if len(chunk) != e["bytes"]:
            raise ValueError(f"{path} is truncated (tensor {e['name']})")
        out[e["name"]] = torch.frombuffer(chunk, dtype=_DTYPES[e["dtype"]]).reshape(e["shape"]).clone()
    return out


def load_archsearch_weights(net, path):
    """Loads a checkpoint written by archsearch's saveModule into the network."""
    state = read_archsearch_tensors(path)
    # BatchNorm's num_batches_tracked counter is PyTorch's own; archsearch does not keep it.
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path} does not fit this network: missing {missing}, unexpected {unexpected}")
    return net


if __name__ == "__main__":
    net = build()
    print(ARCH, sum(p.numel() for p in net.parameters()), "parameters")
`;
}
