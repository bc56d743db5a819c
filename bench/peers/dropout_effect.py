"""What dropout's placement costs: the same model (gpt_peer.py) trained in PyTorch with dropout on
the summed embeddings only (charsight's intended placement until 2026-12-01) and on attention
weights, attention output and MLP output (the published model's, and charsight's since), on the same
windows and seeds; prints the validation loss of each.

Usage: /usr/bin/python3 bench/peers/dropout_effect.py <dir written by BENCH_EXPORT> [p] [seeds] [steps]
The last 10% of the windows are held out for validation; training runs over the rest once per epoch.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_peer  # noqa: E402

run_dir = sys.argv[1]
p = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
cfg = json.load(open(os.path.join(run_dir, "config.json")))
torch.set_num_threads(1)
B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
windows = torch.from_numpy(np.fromfile(os.path.join(run_dir, "windows.bin"), dtype="<i4")
                           .reshape(-1, B, T + 1).astype(np.int64))
n_val = max(1, windows.shape[0] // 10)
train, val = windows[:-n_val], windows[-n_val:]


def validation_loss(model):
    model.eval()
    with torch.no_grad():
        losses = [F.cross_entropy(model(b[:, :T]).view(-1, V), b[:, 1:].reshape(-1)).item() for b in val]
    model.train()
    return sum(losses) / len(losses)


print(f"model d={cfg['d']} layers={cfg['layers']} T={T} V={V}; {train.shape[0]} training batches of {B}, "
      f"{n_val} validation; {steps} steps, dropout {p}")
results = {}
for where in ("none", "embeddings", "everywhere"):
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = gpt_peer.build(cfg, None, dropout=0.0 if where == "none" else p, everywhere=(where == "everywhere"))
        opt = gpt_peer.optimiser(cfg, model)
        for s in range(steps):
            gpt_peer.step(cfg, model, opt, train[s % train.shape[0]])
        results.setdefault(where, []).append(validation_loss(model))
    v = results[where]
    print(f"  dropout {where:10s}: validation loss {np.mean(v):.4f} (seeds {', '.join(f'{x:.4f}' for x in v)})")
