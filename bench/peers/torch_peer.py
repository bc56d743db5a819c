"""The PyTorch peer of charsight's model step: the same architecture, the same minibatches, timed the
same way, so that bench/run model --peer can print charsight's tokens/s as a ratio of PyTorch's.

Usage (bench/run writes the inputs): /usr/bin/python3 bench/peers/torch_peer.py <dir> <threads>
<dir> holds config.json (arch, vocab, d, layers, heads, context, batch, steps, max_token_bytes,
byte_embedding, char_hidden, learning_rate, weight_decay, beta1, beta2, clip_norm), windows.bin
(int32 little-endian [batches, batch, context + 1]: 2 warm-up batches, then one per timed step) and,
for the char arm, bytes.bin (int32 [vocab, max_token_bytes], right-aligned, 256 = pad).

The model is charsight's (GptBuilder): pre-LayerNorm blocks with one fused qkv projection, causal
softmax attention, GELU MLP 4x, learned positions, final LayerNorm, untied output, AdamW with
per-layer gradient clipping. The char arm runs an LSTM over the bytes of each distinct token of the
batch (as charsight's CharEncoderLayer does) and adds its projected final state to the embeddings.
PyTorch is a benchmark tool here, from Debian's python3-torch; charsight never depends on it.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

run_dir, threads = sys.argv[1], int(sys.argv[2])
cfg = json.load(open(os.path.join(run_dir, "config.json")))
torch.set_num_threads(threads)
torch.manual_seed(0)
V, d, L, H, T, B = cfg["vocab"], cfg["d"], cfg["layers"], cfg["heads"], cfg["context"], cfg["batch"]
windows = torch.from_numpy(np.fromfile(os.path.join(run_dir, "windows.bin"), dtype="<i4")
                           .reshape(-1, B, T + 1).astype(np.int64))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).bool())

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, 2)
        q, k, v = [z.view(b, t, H, d // H).transpose(1, 2) for z in (q, k, v)]
        a = (q @ k.transpose(-2, -1)) / math.sqrt(d // H)
        a = a.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class CharEncoder(nn.Module):
    """Bytes of each distinct token -> embedding -> LSTM -> final state -> linear to d."""

    def __init__(self, table):
        super().__init__()
        self.register_buffer("table", table)
        self.embed = nn.Embedding(257, cfg["byte_embedding"], padding_idx=256)
        self.lstm = nn.LSTM(cfg["byte_embedding"], cfg["char_hidden"], batch_first=True)
        self.proj = nn.Linear(cfg["char_hidden"], d)

    def forward(self, idx):
        distinct, position = torch.unique(idx, return_inverse=True)
        _, (h, _) = self.lstm(self.embed(self.table[distinct]))
        return self.proj(h[0])[position]


class GPT(nn.Module):
    def __init__(self, table=None):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
        self.char = CharEncoder(table) if table is not None else None
        self.blocks = nn.Sequential(*[Block() for _ in range(L)])
        self.lnf, self.head = nn.LayerNorm(d), nn.Linear(d, V)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        if self.char is not None:
            x = x + self.char(idx)
        return self.head(self.lnf(self.blocks(x)))


table = None
if cfg["arch"] in ("char", "char-shuffled"):
    C = cfg["max_token_bytes"]
    table = torch.from_numpy(np.fromfile(os.path.join(run_dir, "bytes.bin"), dtype="<i4").reshape(V, C).astype(np.int64))
model = GPT(table)
opt = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]),
                        weight_decay=cfg["weight_decay"])
clip = cfg["clip_norm"]


def step(batch):
    x, y = batch[:, :T], batch[:, 1:]
    loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    if clip > 0:
        # charsight (DL4J) clips each layer's gradient on its own.
        for m in model.modules():
            params = [p for p in m.parameters(recurse=False) if p.grad is not None]
            if params:
                torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


for i in range(2):
    step(windows[i])
t0 = time.time()
steps = windows.shape[0] - 2
for i in range(steps):
    step(windows[2 + i])
per_step = (time.time() - t0) / steps
params = sum(p.numel() for p in model.parameters())
print(f"torch {torch.__version__} threads={threads} arch={cfg['arch']} V={V} params={params} "
      f"{per_step:.3f} s/step {B * T / per_step:.0f} tok/s")
