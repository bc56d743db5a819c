"""The PyTorch peer of charsight's model step: the same architecture (gpt_peer.py), the same
minibatches, timed the same way, so that bench/run model --peer can print charsight's tokens/s as a
ratio of PyTorch's.

Usage (bench/run writes the inputs): /usr/bin/python3 bench/peers/torch_peer.py <dir> <threads>
<dir> holds config.json (arch, vocab, d, layers, heads, context, batch, max_token_bytes,
byte_embedding, char_hidden, learning_rate, weight_decay, beta1, beta2, clip_norm), windows.bin
(int32 little-endian [batches, batch, context + 1]: 2 warm-up batches, then one per timed step) and,
for the char arm, bytes.bin (int32 [vocab, max_token_bytes], right-aligned, 256 = pad).
PyTorch is a benchmark tool here, from Debian's python3-torch; charsight never depends on it.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_peer  # noqa: E402

run_dir, threads = sys.argv[1], int(sys.argv[2])
cfg = json.load(open(os.path.join(run_dir, "config.json")))
torch.set_num_threads(threads)
torch.manual_seed(0)


def blas_library():
    """Which BLAS answers this process's libblas.so.3: Debian's python3-torch links the generic
    library, and its alternatives point that at the reference BLAS (directory blas/) unless an
    optimised one (openblas-pthread/, ...) is installed and chosen."""
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if line.rstrip().rsplit("/", 1)[-1].startswith("libblas.so")}
    return sorted(os.path.basename(os.path.dirname(lib)) for lib in libs)


blas = blas_library()
# The reference BLAS made this peer's step 5.4x slower at the quick study's model than OpenBLAS did,
# which would turn every ratio into a statement about Debian's alternatives.
if blas != ["openblas-pthread"] and blas != ["openblas-openmp"]:
    sys.exit(f"torch_peer: PyTorch's libblas.so.3 is {', '.join(b + '/' for b in blas) or 'not mapped'}, not OpenBLAS "
             "(blas/ is the reference BLAS, Debian's choice when no other is installed); "
             "install libopenblas0-pthread (bench/peers/compare does) so the peer is what a PyTorch user gets")
B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
windows = torch.from_numpy(np.fromfile(os.path.join(run_dir, "windows.bin"), dtype="<i4")
                           .reshape(-1, B, T + 1).astype(np.int64))
table = None
if cfg["arch"] in ("char", "char-shuffled"):
    table = torch.from_numpy(np.fromfile(os.path.join(run_dir, "bytes.bin"), dtype="<i4")
                             .reshape(V, cfg["max_token_bytes"]).astype(np.int64))
model = gpt_peer.build(cfg, table)
opt = gpt_peer.optimiser(cfg, model)
# Warm-up as charsight's side does it: the two warm-up batches in turn until at least warmup_s have
# passed (and twice at least), so both sides are timed in their steady state.
warmup_s = float(os.environ.get("BENCH_WARMUP_S", "0"))
w0, i = time.time(), 0
while i < 2 or time.time() - w0 < warmup_s:
    gpt_peer.step(cfg, model, opt, windows[i % 2])
    i += 1
t0 = time.time()
steps = windows.shape[0] - 2
for i in range(steps):
    gpt_peer.step(cfg, model, opt, windows[2 + i])
per_step = (time.time() - t0) / steps
params = sum(p.numel() for p in model.parameters())
print(f"torch {torch.__version__} threads={threads} blas={blas[0]} arch={cfg['arch']} V={V} params={params} "
      f"{per_step:.3f} s/step {B * T / per_step:.0f} tok/s")
