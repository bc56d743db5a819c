#!/usr/bin/env python3
"""Barrier averaging past this machine: the share of a pretraining round outside `fit` at E executors.

A projection, not a measurement (bench/README.md, "Past this machine"). Its inputs are the measured
per-round parts of `bench/run pretrain --chunk 20` on local-cluster[2,1,2048] at frequency 5 (the constants
below, 2026-12-04), and stated assumptions about a cluster. Prints the README's table and, first, its check
against the same benchmark's frequency-20 run.
"""
import math

# Measured here: the default model (d=128, 4 layers, V=4,096), two executor JVMs, frequency 5, 20-round chunks
# (2026-12-04 22:21-22:35, 5ff4cd4's code, 2 vCPU AMD EPYC with AVX-512: bench/README.md, "Past this machine").
MB = 22.3            # parameters and both Adam moments, per worker
FILES_MS = 24        # the exchange's files per round (three copies of the vector, the sum), CPU and memory
WAIT_MS = 27         # per round, waiting for the other worker
CHUNK_MS = (0 + 27) * 20   # per chunk: the chunk's input and network set-up, Spark and the driver around the tasks
STEP_MS = 150        # the single-process loop's step on one core (16 x 128 tokens), same run
FIT_MS = 888         # a worker's fit per round (F0 steps), same run
F0, K0 = 5, 20

# Assumed for a cluster: 10 Gb/s per executor; a shared file system (HDFS) answering an operation in 1 ms
# per client and 50,000 a second in all; each worker's step time varying independently from step to step
# as much as it did here (two workers and the driver on two shared vCPUs: an upper bound).
LINK_MB_PER_MS = 1.25
OP_MS = 1.0
OPS_PER_S = 50_000


def expected_max(e):
  """E[max of e standard normals], by numerical integration."""
  if e == 1:
    return 0.0
  def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
  def cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))
  h, total, x = 0.001, 0.0, -10.0
  while x < 10:
    total += x * e * cdf(x) ** (e - 1) * phi(x) * h
    x += h
  return total


SIGMA_STEP_MS = WAIT_MS / (expected_max(2) * math.sqrt(F0))   # one worker's step-to-step spread


def parts_ms(mb, step_ms, e, f, chunk_rounds, local=False):
  """Per round outside `fit`: files (bytes, operations), waiting for the slowest worker, the chunk's share."""
  files = FILES_MS * mb / MB
  if not local:
    # A worker reads its slice of every vector and every mean slice (2 x the vector in) and writes its
    # vector and one slice; its file system operations: E + E files to look for and open, and six more.
    ops = 4 * e + 6
    files += 2 * mb / LINK_MB_PER_MS + max(ops * OP_MS, e * ops / OPS_PER_S * 1000)
  wait = expected_max(e) * SIGMA_STEP_MS * (step_ms / STEP_MS) * math.sqrt(f)
  # The chunk: its fixed part as measured, the broadcast (a tree over the executors) and the mean read back.
  chunk = CHUNK_MS + (0 if local else mb / LINK_MB_PER_MS * (math.log2(e) + 1))
  return files, wait, chunk / chunk_rounds


def outside_ms(mb, step_ms, e, f, chunk_rounds, local=False):
  return sum(parts_ms(mb, step_ms, e, f, chunk_rounds, local))


def share(mb, step_ms, e, f, chunk_rounds, local=False):
  o = outside_ms(mb, step_ms, e, f, chunk_rounds, local)
  return o / (o + f * step_ms)


def frequency_for(mb, step_ms, e, chunk_rounds, target=0.15):
  for f in range(1, 10_000):
    if share(mb, step_ms, e, f, chunk_rounds) <= target:
      return f
  return None


if __name__ == "__main__":
  # The check: frequency 20 on the same two JVMs (chunks of as many rounds), predicted from the frequency-5 parts.
  f, k = 20, K0
  o = outside_ms(MB, STEP_MS, 2, f, k, local=True)
  files, wait, chunk = parts_ms(MB, STEP_MS, 2, f, k, local=True)
  fit = FIT_MS / F0 * f   # the workers' measured fit per step at frequency 5, times 20
  print(f"check, local-cluster[2,1,2048] at frequency {f}: predicted outside fit {o:.0f} ms a round "
        f"(files {files:.0f}, waiting {wait:.0f}, the chunk's share {chunk:.0f}), {100 * o / (o + fit):.1f}% of it")
  print()
  print("| model | E | files: bytes + operations, ms | waiting for the slowest, ms | chunk's share, ms "
        "| outside fit per round | share at frequency 5 | frequency for <= 15% |")
  print("|---|---|---|---|---|---|---|---|")
  models = [("default (22.3 MB, chunks of 5 rounds)", MB, STEP_MS, 5),
            ("study.conf (505 MB, chunks of 100 rounds)", 505.0, 48 * STEP_MS, 100)]
  for name, mb, step, chunk_rounds in models:
    for e in (2, 8, 64, 256):
      files, wait, chunk = parts_ms(mb, step, e, 5, chunk_rounds)
      o = files + wait + chunk
      print(f"| {name} | {e} | {files:,.0f} | {wait:,.0f} | {chunk:,.0f} | {o / 1000:.2f} s "
            f"| {100 * share(mb, step, e, 5, chunk_rounds):.0f}% | {frequency_for(mb, step, e, chunk_rounds)} |")
