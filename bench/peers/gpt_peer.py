"""charsight's GPT (GptBuilder) in PyTorch, for the benchmark peers: pre-LayerNorm blocks with one
fused qkv projection, causal softmax attention, GELU MLP 4x, learned positions, final LayerNorm,
untied output; the char arm adds an LSTM over the bytes of each distinct token of the batch.
Dropout (p) can act on the summed embeddings (charsight's intended placement until 2026-12-01, which
DL4J never applied) or also where the published model had it (attention weights, attention output,
MLP output), which is charsight's placement now."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def build(cfg, table=None, dropout=0.0, everywhere=False):
    V, d, L, H, T = cfg["vocab"], cfg["d"], cfg["layers"], cfg["heads"], cfg["context"]
    inner = dropout if everywhere else 0.0

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.drop = nn.Dropout(inner)
            self.register_buffer("mask", torch.tril(torch.ones(T, T)).bool())

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, 2)
            q, k, v = [z.view(b, t, H, d // H).transpose(1, 2) for z in (q, k, v)]
            a = (q @ k.transpose(-2, -1)) / math.sqrt(d // H)
            a = self.drop(a.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(-1))
            x = x + self.drop(self.proj((a @ v).transpose(1, 2).reshape(b, t, d)))
            return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))

    class CharEncoder(nn.Module):
        def __init__(self):
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
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(V, d), nn.Embedding(T, d)
            self.char = CharEncoder() if table is not None else None
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.Sequential(*[Block() for _ in range(L)])
            self.lnf, self.head = nn.LayerNorm(d), nn.Linear(d, V)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            if self.char is not None:
                x = x + self.char(idx)
            return self.head(self.lnf(self.blocks(self.drop(x))))

    return GPT()


def optimiser(cfg, model):
    return torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]),
                             weight_decay=cfg["weight_decay"])


def step(cfg, model, opt, batch):
    """One training step; charsight (DL4J) clips each layer's gradient on its own."""
    T, V = cfg["context"], cfg["vocab"]
    x, y = batch[:, :T], batch[:, 1:]
    loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    if cfg["clip_norm"] > 0:
        for m in model.modules():
            params = [p for p in m.parameters(recurse=False) if p.grad is not None]
            if params:
                torch.nn.utils.clip_grad_norm_(params, cfg["clip_norm"])
    opt.step()
    return loss.item()
