#!/usr/bin/python3
"""PyTorch CPU peer for the sparse-attention benchmarks.

Usage: /usr/bin/python3 bench/peers/torch_peer.py JOB.json

Runs one attention computation written the way a PyTorch user would write it (the
Hugging Face transformers algorithms, in plain torch ops), times it and prints exactly one
JSON line on stdout:

  {"ok": true, "ms": [...], "medianMs": x, "peakBytes": n, "gflops"?: x,
   "torch": "<version>", "blas": "openblas" | "other", "blasCore"?: "<OpenBLAS kernel>"}
  {"ok": false, "error": "..."}

JOB.json:
  {"op": "dense" | "local" | "lsh" | "sgemm",
   "dir": "/abs/path",                  input/output files are relative to it
   "inputs": {"q": {"file": "q.f32", "dtype": "float32", "shape": [B, H, L, D]}, ...},
   "config": {...},
   "warmup": 1, "repeats": 3,
   "output": "out_torch.f32",           float32 little-endian result; omit to skip
   "threads": 1}                        torch.set_num_threads (and OpenBLAS' own pool)

Ops (all tensors [B, H, L, D] unless stated):
  dense  inputs q, k, v;  config {scale?: 1/sqrt(D), causal?: false}
  local  inputs q, k, v, attentionMask? int32 [B, L] (-1 pad, 0 local, 1 global),
         qGlobal?, kGlobal?, vGlobal? (default q, k, v);  config {window: [a, a]}
         ("algorithm": "blocked": any window [left, right])
  lsh    inputs qk, v, rotations [H, D, nh, rot/2], paddingMask? int32 [B, L];
         config {nHashes, nBuckets (int or list), chunkLength, chunksBefore,
                 chunksAfter, causal}
  sgemm  no inputs;  config {n: 4096}: an n x n float32 matmul, reports GFLOP/s
  linear inputs x [rows, in], weight [out, in], bias [out]: F.linear
  model  inputs inputIds, globalAttentionMask int32 [B, L]; config {checkpoint: a directory
         with config.json and model.safetensors, relative to dir}: Hugging Face's
         LongformerModel (embeddings, encoder; last_hidden_state) in plain torch ops

Algorithms: "algorithm": "blocked" in the job runs local and lsh as a PyTorch user tuning
for speed would write them (blocked_local_attention, blocked_lsh_attention) instead of Hugging
Face's formulation; both compute the same function.

OpenBLAS: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are read once, when OpenBLAS loads. The job's
"openblasCore" (a core name, or null for OpenBLAS' own detection) decides the core: before
torch is imported, the script re-executes itself with OPENBLAS_CORETYPE set to it (or unset)
and OPENBLAS_L2_SIZE unset, whatever the caller's environment held. The kernel OpenBLAS then
runs is reported as "blasCore".
"""

import ctypes
import json
import math
import os
import resource
import statistics
import sys
import time


def control_openblas_environment(job_file):
    """Re-executes this script with the OpenBLAS environment the job asks for, unless it
    already holds it (then it returns). Must run before numpy or torch load OpenBLAS."""
    try:
        with open(job_file) as f:
            core = json.load(f).get("openblasCore")
    except (OSError, ValueError, AttributeError):
        return  # main() reports the unreadable job
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if core:
        env["OPENBLAS_CORETYPE"] = str(core)
    if env != dict(os.environ):
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), job_file], env)


if __name__ == "__main__" and len(sys.argv) == 2:
    control_openblas_environment(sys.argv[1])

import numpy as np  # noqa: E402 (after the environment is settled)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

FMIN = torch.finfo(torch.float32).min  # Longformer's mask value (float32 lowest)
LSH_MASK = -1e9  # Reformer: disallowed key (padding / future)
LSH_SELF_MASK = -1e5  # Reformer: a query's own token


# ----------------------------------------------------------------------------------------
# dense: the baseline everybody writes first


def dense_attention(q, k, v, scale=None, causal=False):
    L, D = q.shape[-2], q.shape[-1]
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    if causal:
        future = torch.ones(L, L, dtype=torch.bool).triu_(1)
        scores.masked_fill_(future, -math.inf)
    return torch.matmul(torch.softmax(scores, dim=-1), v)


# ----------------------------------------------------------------------------------------
# lsh: Reformer's LSHSelfAttention (SEMANTICS section 1)


def lsh_attention(qk, v, rotations, padding_mask, n_hashes, n_buckets, chunk_length,
                  chunks_before, chunks_after, causal):
    B, _, L, _ = qk.shape
    if L <= chunk_length:  # standard path: full attention, no hashing (1.2)
        pos = torch.arange(L)
        key_ok = None if padding_mask is None else padding_mask.bool()[:, None, None, :]
        out, _ = _lsh_attend(qk, _unit_key(qk), v, pos, pos, key_ok, causal)
        return out

    # Like ReformerModel, pad the tail with padding tokens to a multiple of the chunk (1.10).
    extra = -L % chunk_length
    if extra:
        qk = F.pad(qk, (0, 0, 0, extra))
        v = F.pad(v, (0, 0, 0, extra))
        if padding_mask is None:
            padding_mask = torch.ones(B, L, dtype=torch.int32)
        padding_mask = F.pad(padding_mask, (0, extra))

    if rotations is None or rotations.shape[2] != n_hashes:
        raise ValueError(f"lsh: rotations [H, D, nHashes={n_hashes}, rot/2] required")
    buckets = _hash_buckets(qk, rotations, n_buckets, padding_mask)
    out = _lsh_chunked(qk, v, buckets, padding_mask, chunk_length, chunks_before,
                       chunks_after, causal, n_hashes)
    return out[:, :, :L]


def _hash_buckets(qk, rotations, n_buckets, padding_mask):
    """Bucket ids [B, H, nh*L] with round offsets (1.3); first factor least significant."""
    B, H, L, _ = qk.shape
    n_hashes = rotations.shape[2]
    rotated = torch.einsum("bhtd,hdrk->bhrtk", qk, rotations)  # [B, H, nh, L, rot/2]
    factors = [n_buckets] if isinstance(n_buckets, int) else list(n_buckets)
    buckets, start, n_total = 0, 0, 1
    for f in factors:
        piece = rotated[..., start:start + f // 2]
        buckets = buckets + n_total * torch.argmax(torch.cat([piece, -piece], dim=-1), dim=-1)
        start, n_total = start + f // 2, n_total * f

    # Batch-wide rule: any padding anywhere adds one extra bucket for padding tokens.
    if padding_mask is not None and not bool(padding_mask.bool().all()):
        buckets = buckets.masked_fill(~padding_mask.bool()[:, None, None, :], n_total)
        n_total += 1
    offsets = torch.arange(n_hashes)[:, None] * n_total
    return (buckets + offsets).reshape(B, H, n_hashes * L)


def _lsh_chunked(qk, v, buckets, padding_mask, c, before, after, causal, n_hashes):
    B, H, L, D = qk.shape
    S = n_hashes * L
    # Stable sort by bucket: the composite key bucket*S + i has distinct values (1.4).
    flat = torch.arange(S)
    sorted_idx = torch.argsort(buckets * S + flat, dim=-1)
    undo = torch.empty_like(sorted_idx).scatter_(-1, sorted_idx, flat.expand(B, H, S))
    pos = sorted_idx % L  # original token of every sorted slot

    def chunked(x):
        return x.reshape(B, H, S // c, c, *x.shape[3:])

    q = _gather_rows(qk, pos)
    keys = _look_adjacent(chunked(_unit_key(q)), before, after)
    values = _look_adjacent(chunked(_gather_rows(v, pos)), before, after)
    q_pos = chunked(pos)
    k_pos = _look_adjacent(q_pos, before, after)

    out, lse = _lsh_attend(chunked(q), keys, values, q_pos, k_pos, _key_ok(padding_mask, k_pos), causal)
    out = _gather_rows(out.reshape(B, H, S, D), undo)  # un-sort (1.8)
    lse = lse.reshape(B, H, S).gather(-1, undo)
    if n_hashes == 1:
        return out

    # Combine hash rounds: weight each round by its share of the total softmax mass.
    out = out.view(B, H, n_hashes, L, D)
    lse = lse.view(B, H, n_hashes, L, 1)
    weights = torch.exp(lse - torch.logsumexp(lse, dim=2, keepdim=True))
    return torch.sum(out * weights, dim=2)


def _lsh_attend(q, k, v, q_pos, k_pos, key_ok, causal):
    """Masked softmax attention of a block of queries over its key slots (1.7).

    Returns the output and the float32 log-sum-exp of every query row.
    """
    scores = _lsh_masks(torch.matmul(q, k.transpose(-1, -2)), q_pos, k_pos, key_ok, causal)
    lse = torch.logsumexp(scores, dim=-1, keepdim=True)
    return torch.matmul(torch.exp(scores - lse), v), lse.squeeze(-1)


def _key_ok(padding_mask, k_pos):
    """Whether each key slot [B, H, n, 1, keys] holds a real token; None without padding."""
    if padding_mask is None:
        return None
    B, H = k_pos.shape[:2]
    ok = padding_mask.bool()[:, None, :].expand(B, H, padding_mask.shape[1])
    return ok.gather(-1, k_pos.reshape(B, H, -1)).view_as(k_pos).unsqueeze(-2)


def _lsh_masks(scores, q_pos, k_pos, key_ok, causal):
    """Writes the masks of 1.7 into the scores (in place) and returns them."""
    allowed = key_ok
    if causal:
        not_future = q_pos.unsqueeze(-1) >= k_pos.unsqueeze(-2)
        allowed = not_future if allowed is None else allowed & not_future
    if allowed is not None:
        scores.masked_fill_(~allowed, LSH_MASK)
    # Replaces whatever the masks above wrote: a query must not attend to its own token.
    return scores.masked_fill_(q_pos.unsqueeze(-1) == k_pos.unsqueeze(-2), LSH_SELF_MASK)


def _unit_key(x):
    """Reformer's key normalisation: RMS over D (eps inside the root), then / sqrt(D)."""
    x = x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-6)
    return x / math.sqrt(x.shape[-1])


def _gather_rows(x, idx):
    """x [B, H, L, D], idx [B, H, S] -> rows x[b, h, idx[b, h, s]] as [B, H, S, D]."""
    return x.gather(2, idx.unsqueeze(-1).expand(*idx.shape, x.shape[-1]))


def _look_adjacent(x, before, after, dim=3):
    """Append to each chunk (dim 2) its neighbours along `dim`, wrapping over all chunks (1.5)."""
    if before == 0 and after == 0:
        return x
    neighbours = [x if i == 0 else torch.roll(x, -i, dims=2) for i in range(-before, after + 1)]
    return torch.cat(neighbours, dim=dim)


# ----------------------------------------------------------------------------------------
# local: Longformer's LongformerSelfAttention (SEMANTICS section 2)


def longformer_attention(q, k, v, attention_mask, q_global, k_global, v_global, a):
    """Sliding-chunks attention, one-sided window a, plus global tokens."""
    B, H, L, D = q.shape
    if attention_mask is None:
        attention_mask = torch.zeros(B, L, dtype=torch.int32)
    # LongformerModel pads the sequence with padding tokens to a multiple of the window.
    extra = -L % (2 * a)
    if extra:
        q, k, v, q_global, k_global, v_global = (
            F.pad(x, (0, 0, 0, extra)) for x in (q, k, v, q_global, k_global, v_global))
        attention_mask = F.pad(attention_mask, (0, extra), value=-1)
    is_padding = attention_mask < 0
    glob = GlobalSlots.of(attention_mask > 0)
    q = q / math.sqrt(D)

    scores = _sliding_chunks_scores(q, k, a)  # [B, H, L', 2a+1]
    # Padding and global keys leave the window: add float32 lowest (computed by the same
    # banded product, with ones as queries and the mask as a one-dimensional key).
    removed = attention_mask != 0
    float_mask = removed.float().masked_fill(removed, FMIN)[:, None, :, None]
    scores += _sliding_chunks_scores(torch.ones_like(float_mask), float_mask, a)
    if glob:
        # Every query also sees the global tokens, through their local keys.
        global_scores = torch.matmul(q, glob.pack(k).transpose(-1, -2))
        global_scores.masked_fill_(~glob.used[:, None, None, :], FMIN)
        scores = torch.cat([global_scores, scores], dim=-1)

    probs = torch.softmax(scores, dim=-1)
    probs.masked_fill_(is_padding[:, None, :, None], 0.0)  # padding rows output zero
    if not glob:
        return _sliding_chunks_probs_value(probs, v, a)[:, :, :L]

    n = glob.n_max
    out = torch.matmul(probs[..., :n], glob.pack(v))
    out += _sliding_chunks_probs_value(probs[..., n:].contiguous(), v, a)
    global_out = _global_branch(q_global, k_global, v_global, is_padding, glob)
    out[glob.token[0], :, glob.token[1]] = global_out[glob.slot[0], :, glob.slot[1]]
    return out[:, :, :L]


class GlobalSlots:
    """Where the global tokens are, and the slot each one takes in a packed [n_max] axis."""

    @staticmethod
    def of(is_global):
        """None when no token of the batch is global (then no global columns exist)."""
        return GlobalSlots(is_global) if bool(is_global.any()) else None

    def __init__(self, is_global):
        count = is_global.sum(dim=1)
        self.n_max = int(count.max())  # batch-wide
        self.used = torch.arange(self.n_max) < count[:, None]  # [B, n_max]
        self.token = is_global.nonzero(as_tuple=True)  # (batch, position), ascending
        self.slot = self.used.nonzero(as_tuple=True)  # (batch, slot), in the same order

    def pack(self, x):
        """Rows of the global tokens of x [B, H, L, D] as [B, H, n_max, D] (unused: 0)."""
        B, H, _, D = x.shape
        packed = x.new_zeros(B, H, self.n_max, D)
        packed[self.slot[0], :, self.slot[1]] = x[self.token[0], :, self.token[1]]
        return packed


def _global_branch(q_global, k_global, v_global, is_padding, glob):
    """Global tokens attend to every non-padding token: [B, H, n_max, D]."""
    qg = glob.pack(q_global) / math.sqrt(q_global.shape[-1])
    scores = torch.matmul(qg, k_global.transpose(-1, -2))  # [B, H, n_max, L']
    scores.masked_fill_(~glob.used[:, None, :, None], FMIN)
    scores.masked_fill_(is_padding[:, None, None, :], FMIN)
    return torch.matmul(torch.softmax(scores, dim=-1), v_global)


def _overlapping_chunks(x, a):
    """[BH, L, D] -> [BH, L/a - 1, 2a, D]: chunks of 2a rows overlapping by a (a view)."""
    return x.unfold(1, 2 * a, a).transpose(2, 3)


def _sliding_chunks_scores(q, k, a):
    """Banded q k^T: [B, H, L, 2a+1], column o is the key at offset o - a (-inf outside)."""
    B, H, L, D = q.shape
    BH, n_chunks = B * H, L // a - 1
    q = _overlapping_chunks(q.reshape(BH, L, D), a)
    k = _overlapping_chunks(k.reshape(BH, L, D), a)
    chunk_scores = torch.matmul(q, k.transpose(-1, -2))  # [BH, n, 2a, 2a]
    # Pad one row and re-view: every row shifts by one, turning diagonals into columns.
    chunk_scores = F.pad(chunk_scores, (0, 0, 0, 1)).view(BH, n_chunks, 2 * a, 2 * a + 1)

    # Stitch the band of each block of a queries from the two chunks that contain it.
    band = chunk_scores.new_zeros(BH, n_chunks + 1, a, 2 * a + 1)
    band[:, :-1, :, a:] = chunk_scores[:, :, :a, :a + 1]
    band[:, -1, :, a:] = chunk_scores[:, -1, a:, :a + 1]
    band[:, 1:, :, :a] = chunk_scores[:, :, -(a + 1):-1, a + 1:]
    band[:, 0, 1:a, 1:a] = chunk_scores[:, 0, :a - 1, a + 2:]
    band = band.view(B, H, L, 2 * a + 1)

    # Keys before the start / past the end do not exist.
    before_start = torch.ones(a, a + 1, dtype=torch.bool).tril().flip(0)
    band[:, :, :a, :a + 1].masked_fill_(before_start, -math.inf)
    band[:, :, -a:, -(a + 1):].masked_fill_(before_start.flip(0, 1), -math.inf)
    return band


def _sliding_chunks_probs_value(probs, v, a):
    """Banded probs [B, H, L, 2a+1] times v [B, H, L, D] -> [B, H, L, D]."""
    B, H, L, D = v.shape
    BH = B * H
    probs = probs.reshape(BH, L // a, a, 2 * a + 1)
    # Each block of a queries reads 3a value rows: a before, its own a, a after.
    v = F.pad(v.reshape(BH, L, D), (0, 0, a, a), value=-1)
    v_chunks = v.unfold(1, 3 * a, a).transpose(2, 3)  # [BH, L/a, 3a, D]
    return torch.matmul(_diagonalize(probs, a), v_chunks).view(B, H, L, D)


def _diagonalize(x, a):
    """[.., a, 2a+1] -> [.., a, 3a]: row i shifted right by i (the inverse skew)."""
    *lead, _, _ = x.shape
    x = F.pad(x, (0, a + 1)).view(*lead, -1)[..., :-a]
    return x.view(*lead, a, 3 * a + 1)[..., :-1]


# ----------------------------------------------------------------------------------------
# blocked: the same two ops as a PyTorch user tuning for speed would write them


def blocked_local_attention(q, k, v, attention_mask, q_global, k_global, v_global, left, right,
                            slab_bytes=256 << 20):
    """Longformer attention (SEMANTICS section 2) with the window [left, right] by blocks:
    each block of w = max(left, right) queries attends to the 3w keys of its block and its
    two neighbours, with an exact band mask.

    The blocks run in slabs of about `slab_bytes` of scores (all heads at once), which bounds
    the memory at any length. (Slabs small enough to stay in cache, ~16 MiB, were faster with
    one thread but slower with two: more and smaller parallel ops.) Every query also sees the
    global tokens' local keys (a second, small product), and the global tokens' rows come
    from the global branch.
    """
    B, H, L, D = q.shape
    if attention_mask is None:
        attention_mask = torch.zeros(B, L, dtype=torch.int32)
    w = max(left, right)  # block length
    extra = -L % w
    if extra:  # padding tokens at the tail: never attended, rows dropped
        q, k, v, q_global, k_global, v_global = (
            F.pad(x, (0, 0, 0, extra)) for x in (q, k, v, q_global, k_global, v_global))
        attention_mask = F.pad(attention_mask, (0, extra), value=-1)
    Lp = L + extra
    nb, BH = Lp // w, B * H
    is_padding = attention_mask < 0
    glob = GlobalSlots.of(attention_mask > 0)

    qs = (q * (1.0 / math.sqrt(D))).reshape(BH, nb, w, D)
    # Keys and values with one block of zeros on each side; block i reads padded rows
    # [i w, i w + 3w), i.e. positions [(i - 1) w, (i + 2) w).
    k_blocks = F.pad(k.reshape(BH, Lp, D), (0, 0, w, w)).unfold(1, 3 * w, w)  # [BH, nb, D, 3w]
    v_blocks = F.pad(v.reshape(BH, Lp, D), (0, 0, w, w)).unfold(1, 3 * w, w).transpose(2, 3)

    # Additive mask of every (query, key slot) of a block: -inf outside the band
    # -left <= j - i <= right or outside [0, L'); float32 lowest for padding and global keys (2.2).
    offset = torch.arange(3 * w)[None, :] - w - torch.arange(w)[:, None]
    band = torch.zeros(w, 3 * w).masked_fill_((offset < -left) | (offset > right), -math.inf)
    key_bias = torch.full((B, Lp + 2 * w), -math.inf)
    key_bias[:, w:w + Lp] = (attention_mask != 0).float() * FMIN
    bias = band + key_bias.unfold(1, 3 * w, w)[:, :, None, :]  # [B, nb, w, 3w]

    if glob:
        k_glob = glob.pack(k).reshape(BH, glob.n_max, D).transpose(1, 2)  # [BH, D, n]
        v_glob = glob.pack(v).reshape(BH, glob.n_max, D)
        glob_bias = torch.zeros(B, 1, glob.n_max).masked_fill_(~glob.used[:, None, :], FMIN)

    out = torch.empty(BH, nb, w, D)
    per_block = BH * w * 3 * w * 4
    step = max(1, slab_bytes // per_block)
    for s0 in range(0, nb, step):
        s1 = min(nb, s0 + step)
        qb = qs[:, s0:s1]
        scores = torch.matmul(qb, k_blocks[:, s0:s1])  # [BH, s, w, 3w]
        scores.view(B, H, s1 - s0, w, 3 * w).add_(bias[:, None, s0:s1])
        row_max = scores.amax(dim=-1, keepdim=True)
        if glob:
            g_scores = torch.matmul(qb.reshape(BH, -1, D), k_glob)  # [BH, s w, n]
            g_scores.view(B, H, -1, glob.n_max).add_(glob_bias[:, None])
            g_scores = g_scores.view(BH, s1 - s0, w, glob.n_max)
            row_max = torch.maximum(row_max, g_scores.amax(dim=-1, keepdim=True))
        probs = scores.sub_(row_max).exp_()
        total = probs.sum(dim=-1, keepdim=True)
        ob = torch.matmul(probs, v_blocks[:, s0:s1])
        if glob:
            g_probs = g_scores.sub_(row_max).exp_()
            total += g_probs.sum(dim=-1, keepdim=True)
            ob += torch.matmul(g_probs.view(BH, -1, glob.n_max), v_glob).view_as(ob)
        out[:, s0:s1] = ob.div_(total)

    out = out.view(B, H, Lp, D)
    out.masked_fill_(is_padding[:, None, :, None], 0.0)  # padding rows output zero
    if glob:
        global_out = _global_branch(q_global, k_global, v_global, is_padding, glob)
        out[glob.token[0], :, glob.token[1]] = global_out[glob.slot[0], :, glob.slot[1]]
    return out[:, :, :L]


def blocked_lsh_attention(qk, v, rotations, padding_mask, n_hashes, n_buckets, chunk_length,
                          chunks_before, chunks_after, causal):
    """Reformer's LSH attention (SEMANTICS section 1) by gathers and batched products:
    hash with one product, sort each round by bucket, gather the rows into chunks, attend
    to the chunk and its neighbours, un-sort by a scatter, combine the rounds by their
    log-sum-exp. Keys are normalised once per token, before the gather."""
    B, H, L, D = qk.shape
    c = chunk_length
    if L <= c:  # standard path: full attention, no hashing (1.2)
        return lsh_attention(qk, v, rotations, padding_mask, n_hashes, n_buckets, c,
                             chunks_before, chunks_after, causal)
    extra = -L % c  # pad the tail with padding tokens to a multiple of the chunk (1.10)
    if extra:
        qk, v = F.pad(qk, (0, 0, 0, extra)), F.pad(v, (0, 0, 0, extra))
        if padding_mask is None:
            padding_mask = torch.ones(B, L, dtype=torch.int32)
        padding_mask = F.pad(padding_mask, (0, extra))
    if rotations is None or rotations.shape[2] != n_hashes:
        raise ValueError(f"lsh: rotations [H, D, nHashes={n_hashes}, rot/2] required")
    Lp = L + extra
    if padding_mask is not None and bool(padding_mask.bool().all()):
        padding_mask = None  # no padding token: no padding bucket, no padding mask

    buckets = _blocked_buckets(qk, rotations, n_buckets, padding_mask)  # [B, H, nh, L']
    # Sort each round by (bucket, position): the composite key is unique.
    pos = torch.argsort(buckets * Lp + torch.arange(Lp), dim=-1)  # [B, H, nh, L']
    S, n = n_hashes * Lp, n_hashes * Lp // c
    flat_pos = pos.reshape(B, H, S)

    # One row gather (index_select copies whole rows) of queries, normalised keys and values.
    rows = torch.cat([qk, _unit_key(qk), v], dim=-1).reshape(B * H * Lp, 3 * D)
    row_offsets = (torch.arange(B * H) * Lp).view(B, H, 1)
    gathered = rows.index_select(0, (flat_pos + row_offsets).reshape(-1)).view(B, H, n, c, 3 * D)
    q = gathered[..., :D]
    # Keys transposed and contiguous, [B, H, n, D, (before + 1 + after) c]: the layout the
    # batched product reads fastest.
    keys_t = _look_adjacent(gathered[..., D:2 * D].transpose(-1, -2), chunks_before, chunks_after, dim=4)
    values = _look_adjacent(gathered[..., 2 * D:], chunks_before, chunks_after)
    scores = torch.matmul(q, keys_t)  # [B, H, n, c, (before + 1 + after) c]

    q_pos = flat_pos.view(B, H, n, c)
    if padding_mask is not None or causal or chunks_before + chunks_after >= n:
        # The general masks, exactly as Hugging Face applies them (1.7); also where so few
        # chunks wrap around that a chunk meets itself again.
        k_pos = _look_adjacent(q_pos, chunks_before, chunks_after)
        _lsh_masks(scores, q_pos, k_pos, _key_ok(padding_mask, k_pos), causal)
    else:
        # Only the self mask. Within a round every token sits in one slot, so a query meets
        # itself on the diagonal of its own chunk, and again only in a neighbouring chunk of
        # another round: those few chunks at the round boundaries get the full comparison.
        own = slice(chunks_before * c, (chunks_before + 1) * c)
        scores[..., own].diagonal(dim1=-2, dim2=-1).fill_(LSH_SELF_MASK)
        per_round = Lp // c
        edge = [j for j in range(n) if j % per_round < chunks_before
                or j % per_round >= per_round - chunks_after]
        if n_hashes > 1 and edge:
            edge = torch.tensor(edge)
            k_pos = _look_adjacent(q_pos, chunks_before, chunks_after)[:, :, edge]
            sub = scores[:, :, edge]
            sub.masked_fill_(q_pos[:, :, edge].unsqueeze(-1) == k_pos.unsqueeze(-2), LSH_SELF_MASK)
            scores[:, :, edge] = sub

    row_max = scores.amax(dim=-1, keepdim=True)
    probs = scores.sub_(row_max).exp_()
    total = probs.sum(dim=-1, keepdim=True)
    out = torch.matmul(probs, values).div_(total)  # [B, H, n, c, D]
    lse = (row_max + total.log_()).view(B, H, n_hashes, Lp)

    # Un-sort (1.8): slot i of round r holds token pos[..., r, i]; undo is the inverse.
    undo = torch.empty_like(pos).scatter_(3, pos, torch.arange(Lp).expand_as(pos))
    undo = undo + (torch.arange(B * H * n_hashes) * Lp).view(B, H, n_hashes, 1)
    unsorted = out.reshape(-1, D).index_select(0, undo.reshape(-1)).view(B, H, n_hashes, Lp, D)
    if n_hashes == 1:
        return unsorted[:, :, 0, :L]
    lse = lse.reshape(-1).index_select(0, undo.reshape(-1)).view(B, H, n_hashes, Lp)
    # Each round's share of the mass, not renormalised: exp(lse - logsumexp) in float32 (1.9).
    weights = torch.exp(lse - torch.logsumexp(lse, dim=2, keepdim=True)).unsqueeze(-1)
    return torch.sum(unsorted.mul_(weights), dim=2)[:, :, :L]


def _blocked_buckets(qk, rotations, n_buckets, padding_mask):
    """Bucket ids [B, H, nh, L] without round offsets, as _hash_buckets assigns them (1.3):
    argmax over [x, -x] is the larger of argmax x and argmin x shifted by rot/2."""
    if not isinstance(n_buckets, int):  # factorised bucket counts: Hugging Face's code
        B, H, L, _ = qk.shape
        n_hashes = rotations.shape[2]
        n_total = math.prod(n_buckets) + (padding_mask is not None)
        offsets = torch.arange(n_hashes)[:, None] * n_total
        return (_hash_buckets(qk, rotations, n_buckets, padding_mask).view(B, H, n_hashes, L)
                - offsets)
    H, D, n_hashes, half = rotations.shape
    rotated = torch.matmul(qk, rotations.reshape(H, D, n_hashes * half))
    rotated = rotated.view(*qk.shape[:3], n_hashes, half)
    top, top_at = rotated.max(dim=-1)
    bottom, bottom_at = rotated.min(dim=-1)
    buckets = torch.where(top >= -bottom, top_at, bottom_at + half).transpose(-1, -2)
    if padding_mask is not None:
        buckets = buckets.masked_fill(~padding_mask.bool()[:, None, None, :], n_buckets)
    return buckets.contiguous()


# ----------------------------------------------------------------------------------------
# model: Hugging Face's LongformerModel, the layers around longformer_attention


def load_safetensors(path):
    """{name: float32 tensor} of a safetensors file holding F32 tensors."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = np.fromfile(f, dtype=np.uint8)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        values = data[begin:end].view("<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors


class LongformerModel:
    """The forward pass of modeling_longformer.LongformerModel at inference, weights by HF's names."""

    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.cfg = json.load(f)
        self.w = load_safetensors(os.path.join(directory, "model.safetensors"))

    def _linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _norm(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.w[name + ".weight"], self.w[name + ".bias"],
                            self.cfg["layer_norm_eps"])

    def __call__(self, input_ids, global_attention_mask):
        cfg, w = self.cfg, self.w
        B, L = input_ids.shape
        E, H = cfg["hidden_size"], cfg["num_attention_heads"]
        D, pad = E // H, cfg["pad_token_id"]
        ids = input_ids.long()
        real = (ids != pad).int()
        positions = (torch.cumsum(real, dim=1) * real + pad).long()  # RoBERTa position ids
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        mask = torch.where(global_attention_mask != 0, 1, 0).int()  # no padding: 0 local, 1 global
        any_global = bool((mask > 0).any())

        def heads(t):
            return t.view(B, L, H, D).transpose(1, 2)

        windows = cfg["attention_window"]
        for i in range(cfg["num_hidden_layers"]):
            at = f"encoder.layer.{i}."
            q, k, v = (heads(self._linear(x, at + "attention.self." + n)) for n in ("query", "key", "value"))
            if any_global:
                qg, kg, vg = (heads(self._linear(x, at + "attention.self." + n))
                              for n in ("query_global", "key_global", "value_global"))
            else:
                qg, kg, vg = q, k, v
            window = windows[i] if isinstance(windows, list) else windows
            attended = longformer_attention(q, k, v, mask, qg, kg, vg, window // 2)
            attended = attended.transpose(1, 2).reshape(B, L, E)
            x = self._norm(self._linear(attended, at + "attention.output.dense") + x, at + "attention.output.LayerNorm")
            inner = F.gelu(self._linear(x, at + "intermediate.dense"))
            x = self._norm(self._linear(inner, at + "output.dense") + x, at + "output.LayerNorm")
        return x


# ----------------------------------------------------------------------------------------
# job plumbing


def load_inputs(job):
    tensors = {}
    for name, spec in job.get("inputs", {}).items():
        dtype = {"float32": "<f4", "int32": "<i4"}[spec["dtype"]]
        data = np.fromfile(os.path.join(job["dir"], spec["file"]), dtype=dtype)
        shape = tuple(spec["shape"])
        if data.size != math.prod(shape):
            raise ValueError(f"input {name}: {data.size} values, shape {list(shape)}")
        tensors[name] = torch.from_numpy(data.reshape(shape))
    return tensors


def build_op(op, x, cfg, algorithm=None):
    """Returns (function computing the result, float ops per call or None)."""
    blocked = algorithm == "blocked"
    if algorithm not in (None, "blocked") or (blocked and op not in ("local", "lsh")):
        raise ValueError(f"no algorithm {algorithm!r} for op {op!r}")
    if op == "dense":
        return (lambda: dense_attention(x["q"], x["k"], x["v"], cfg.get("scale"),
                                        bool(cfg.get("causal", False)))), None
    if op == "local":
        left, right = (int(n) for n in cfg["window"])
        if blocked and min(left, right) >= 0 and max(left, right) >= 1:
            window, local = (left, right), blocked_local_attention
        elif not blocked and left == right and left >= 1:
            window, local = (left,), longformer_attention
        else:
            raise ValueError(f"local: window {[left, right]} unsupported; the Longformer sliding-chunks "
                             "computation needs a symmetric window [a, a], a >= 1, the blocked one "
                             "[left, right] >= 0, not both 0")
        return (lambda: local(
            x["q"], x["k"], x["v"], x.get("attentionMask"), x.get("qGlobal", x["q"]),
            x.get("kGlobal", x["k"]), x.get("vGlobal", x["v"]), *window)), None
    if op == "lsh":
        n_buckets = cfg["nBuckets"]
        n_buckets = int(n_buckets) if isinstance(n_buckets, (int, float)) else list(n_buckets)
        lsh = blocked_lsh_attention if blocked else lsh_attention
        return (lambda: lsh(
            x["qk"], x["v"], x.get("rotations"), x.get("paddingMask"), int(cfg["nHashes"]),
            n_buckets, int(cfg["chunkLength"]), int(cfg.get("chunksBefore", 1)),
            int(cfg.get("chunksAfter", 0)), bool(cfg.get("causal", False)))), None
    if op == "linear":
        return (lambda: F.linear(x["x"], x["weight"], x["bias"])), 2.0 * math.prod(x["x"].shape) * x["weight"].shape[0]
    if op == "model":
        model = LongformerModel(os.path.join(cfg["dir"], cfg["checkpoint"]))
        return (lambda: model(x["inputIds"], x["globalAttentionMask"])), None
    if op == "sgemm":
        n = int(cfg.get("n", 4096))
        gen = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
        return (lambda: torch.mm(a, b)), 2.0 * n ** 3
    raise ValueError(f"unknown op {op!r}")


def openblas_library():
    """The OpenBLAS shared library torch's BLAS calls resolve to, or None."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    for path in sorted(paths):
        if "openblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_num_threads  # raises if this is not OpenBLAS proper
                return lib
            except (OSError, AttributeError):
                pass
    return None


def current_rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (which ru_maxrss reports) to the current RSS, so that
    peaks from importing torch or reading inputs are not attributed to the op. Best effort."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def run_job(job):
    threads = int(job.get("threads", 1))
    torch.set_num_threads(threads)
    blas = openblas_library()
    if blas is not None:
        # Torch's generic-BLAS build does not pass its thread count on to OpenBLAS,
        # which would otherwise use every core.
        blas.openblas_set_num_threads(threads)

    inputs = load_inputs(job)
    fn, flops = build_op(job["op"], inputs, {**job.get("config", {}), "dir": job["dir"]},
                         job.get("algorithm"))

    with torch.no_grad():
        # peakBytes = (peak RSS reached during the warm-up and timed runs) - (RSS once the
        # inputs are loaded): the extra memory the computation needs, inputs excluded.
        reset_peak_rss()
        base_rss = current_rss_bytes()
        for _ in range(int(job.get("warmup", 1))):
            fn()
        ms = []
        out = None
        for _ in range(max(1, int(job.get("repeats", 3)))):
            out = None  # let the previous result go before the next run
            start = time.perf_counter()
            out = fn()
            ms.append((time.perf_counter() - start) * 1e3)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    if job.get("output") and out is not None:
        out.contiguous().numpy().astype("<f4").tofile(os.path.join(job["dir"], job["output"]))

    median = statistics.median(ms)
    result = {"ok": True, "ms": ms, "medianMs": median,
              "peakBytes": max(0, peak_rss - base_rss)}
    if flops is not None:
        result["gflops"] = flops / (median * 1e-3) / 1e9
    result["torch"] = torch.__version__
    result["blas"] = "openblas" if blas is not None else "other"
    if blas is not None and hasattr(blas, "openblas_get_corename"):
        blas.openblas_get_corename.restype = ctypes.c_char_p
        result["blasCore"] = blas.openblas_get_corename().decode()
    return result


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    try:
        with open(argv[1]) as f:
            job = json.load(f)
        result = run_job(job)
    except (RuntimeError, MemoryError, ValueError, KeyError, TypeError, OSError) as e:
        result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    # The JSON line carries success or failure; the exit status stays 0 so that callers
    # always read it.
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
