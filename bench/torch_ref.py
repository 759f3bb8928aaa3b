#!/usr/bin/python3
"""PyTorch reference of lipvae's training loop, for the benchmark (bench/run.sh).

The same network, loss, optimiser, batch, epochs and data as lv_model_train:
  encoder d -> h -> h -> k (ReLU between layers), decoder k -> h -> h -> o,
  Xavier-uniform weights, zero biases; z = mu(x) + eps with eps ~ N(0, I)
  (fixed posterior sd 1); loss per row = softmax cross-entropy of every
  column's head over the same output layout (numeric bins, categorical
  slots; a NULL numeric value has no bin term), a Bernoulli head (BCE with
  logits) for every nullable numeric column's NULL logit, plus KL =
  0.5 ||mu||^2; mean over the minibatch; Adam (lr 0.002, betas 0.9/0.999,
  eps 1e-8); minibatches of 256 in a fresh random order every epoch.

Lipschitz constraint: enforced the way lipvae does it, by per-step power
iteration and projection. After every optimiser step, each of the six
layers runs --power-iters (default 2, as lipvae) power iterations with a
persistent vector v (u = W v / |W v|, v = W^T u / |W^T u|, estimate
|W^T u|) and W is rescaled by bound / estimate when the estimate exceeds the
bound: encoder hidden layers 1, last encoder layer the Lipschitz target,
decoder layers 4. 30 iterations at initialisation, as lipvae. Denormals are
flushed (torch.set_flush_denormal), as lipvae sets FTZ/DAZ while training.
No exact certificate or stored means afterwards: the timed part is the
epochs only.

Data: the encoded rows (X, targets T) and the layout that bench_core
--dump wrote, repeated to --rows.

Implementation choices that made PyTorch fastest on this machine (the
benchmark compares against PyTorch at its best): one cross_entropy per
column (--heads loop; a single padded gather was slower), Adam with
foreach=False, OMP_WAIT_POLICY=PASSIVE for 2 threads (run.sh sets it).

Epoch time: the best (shortest) of epochs 2..E (epoch 1 carries warm-up;
on shared cores the shortest epoch is the least disturbed), as bench_core;
the mean is printed too.
Run one process per thread count with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set to it (Debian's torch calls OpenBLAS for GEMMs and
does not pass set_num_threads on to it); run.sh does.

Lines starting with RESULT are machine-readable (tab-separated key=value).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def load(dirname):
    with open(os.path.join(dirname, "layout.json")) as f:
        lay = json.load(f)
    n0, d = lay["rows"], lay["d"]
    ncols = len(lay["columns"])
    X = np.fromfile(os.path.join(dirname, "X.f32"), dtype=np.float32).reshape(n0, d)
    T = np.fromfile(os.path.join(dirname, "T.i32"), dtype=np.int32).reshape(n0, ncols)
    return lay, X, T


class Heads:
    """Loss of the decoder heads over lipvae's output layout."""

    def __init__(self, lay, mode):
        self.mode = mode
        o = lay["o"]
        cols = lay["columns"]
        self.groups = []  # (offset, width, column) of every softmax head
        null_idx, null_col = [], []
        off = 0
        for c, col in enumerate(cols):
            w = col["width"]
            self.groups.append((off, w, c))
            off += w
            if col["kind"] == "numeric" and col["nullable"]:
                null_idx.append(off)
                null_col.append(c)
                off += 1
        assert off == o, (off, o)
        self.ncols = len(cols)
        self.maxw = max(w for _, w, _ in self.groups)
        # padded gather: index o is an extra column of -inf
        idx = torch.full((self.ncols, self.maxw), o, dtype=torch.long)
        for off, w, c in self.groups:
            idx[c, :w] = torch.arange(off, off + w)
        self.idx = idx
        self.null_idx = torch.tensor(null_idx, dtype=torch.long)
        self.null_col = torch.tensor(null_col, dtype=torch.long)

    def loss(self, logits, T):
        B = logits.shape[0]
        Tl = T.long()
        if self.mode == "padded":
            pad = torch.full((B, 1), float("-inf"))
            G = torch.cat([logits, pad], 1)[:, self.idx]  # B x ncols x maxw
            ce = F.cross_entropy(G.reshape(B * self.ncols, self.maxw),
                                 Tl.reshape(-1), ignore_index=-1, reduction="sum")
        else:
            ce = 0.0
            for off, w, c in self.groups:
                ce = ce + F.cross_entropy(logits[:, off:off + w], Tl[:, c],
                                          ignore_index=-1, reduction="sum")
        if len(self.null_idx):
            isnull = (T[:, self.null_col] < 0).float()
            ce = ce + F.binary_cross_entropy_with_logits(
                logits[:, self.null_idx], isnull, reduction="sum")
        return ce


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        lin = nn.Linear(widths[i], widths[i + 1])
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Projector:
    """Per-step power iteration and spectral projection (lipvae's rule)."""

    def __init__(self, layers, bounds, gen):
        self.layers = layers
        self.bounds = bounds
        self.v = []
        for L in layers:
            v = torch.randn(L.in_features, generator=gen)
            self.v.append(v / v.norm())

    @torch.no_grad()
    def project(self, iters):
        for i, L in enumerate(self.layers):
            W = L.weight
            v = self.v[i]
            for _ in range(iters):
                u = torch.mv(W, v)
                u = u / u.norm()
                v = torch.mv(W.t(), u)
                sigma = v.norm()
                v = v / sigma
            self.v[i] = v
            # scale by min(1, bound / sigma) without a host round trip
            W.mul_(torch.clamp(self.bounds[i] / sigma, max=1.0))


def train(lay, X0, T0, n, h, k, epochs, batch, lr, iters, heads_mode, foreach, max_epoch_s, seed=0):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    d, o = lay["d"], lay["o"]
    reps = (n + X0.shape[0] - 1) // X0.shape[0]
    X = torch.from_numpy(np.tile(X0, (reps, 1))[:n].copy())
    T = torch.from_numpy(np.tile(T0, (reps, 1))[:n].copy())
    enc = mlp([d, h, h, k])
    dec = mlp([k, h, h, o])
    heads = Heads(lay, heads_mode)
    target = lay["lipschitz_target"]
    dbound = lay["decoder_layer_bound"]
    lin = [m for m in enc if isinstance(m, nn.Linear)] + [m for m in dec if isinstance(m, nn.Linear)]
    proj = Projector(lin, [1.0, 1.0, target, dbound, dbound, dbound], gen)
    proj.project(30)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=foreach)
    stamps = [time.perf_counter()]
    last = 0.0
    for ep in range(epochs):
        perm = torch.randperm(n)
        total = 0.0
        for off in range(0, n, batch):
            idx = perm[off:off + batch]
            xb, tb = X[idx], T[idx]
            B = xb.shape[0]
            mu = enc(xb)
            z = mu + torch.randn(B, k)
            logits = dec(z)
            loss = (heads.loss(logits, tb) + 0.5 * (mu * mu).sum()) / B
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            proj.project(iters)
            total += loss.detach() * B
        last = float(total) / n
        stamps.append(time.perf_counter())
        if ep == 1 and stamps[1] - stamps[0] > max_epoch_s:
            break  # a pathologically slow configuration: keep the run bounded
    ep_times = [stamps[i] - stamps[i - 1] for i in range(1, len(stamps))]
    later = ep_times[1:] if len(ep_times) > 1 else ep_times
    return min(later), sum(later) / len(later), ep_times, last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="directory written by bench_core --dump")
    ap.add_argument("--rows", default="100000")
    ap.add_argument("--hidden", default="64,128,256,512")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--latent", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--power-iters", type=int, default=2)
    ap.add_argument("--heads", choices=["padded", "loop"], default="loop",
                    help="loop: one cross_entropy per column (the faster here); padded: one gather "
                         "into a padded tensor and one cross_entropy over all columns")
    ap.add_argument("--foreach", type=int, default=0, help="Adam's multi-tensor (foreach) implementation")
    ap.add_argument("--max-epoch-seconds", type=float, default=60.0,
                    help="if the first epoch takes longer, stop after the second (the figure is then epoch 2's)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.set_flush_denormal(True)
    lay, X0, T0 = load(a.data)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}, heads {a.heads}, "
          f"foreach {bool(a.foreach)}, power iterations per step {a.power_iters}", flush=True)
    for n in [int(x) for x in a.rows.split(",")]:
        for h in [int(x) for x in a.hidden.split(",")]:
            best, mean, eps, loss = train(lay, X0, T0, n, h, a.latent, a.epochs, a.batch, a.lr,
                                    a.power_iters, a.heads, bool(a.foreach), a.max_epoch_seconds)
            print(f"rows {n} hidden {h} threads {a.threads}: {best:.4f} s/epoch best of epochs 2-{len(eps)}, "
                  f"mean {mean:.4f} (epochs: {', '.join(f'{t:.3f}' for t in eps)}), loss {loss:.3f}", flush=True)
            print(f"RESULT\tkind=torch\trows={n}\thidden={h}\tthreads={a.threads}\tepoch_s={best:.6f}"
                  f"\tmean_s={mean:.6f}\trows_per_s={n / best:.1f}\tloss={loss:.4f}\theads={a.heads}", flush=True)


if __name__ == "__main__":
    main()
