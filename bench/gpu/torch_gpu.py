#!/usr/bin/env python3
"""PyTorch peers on the GPU for the sparse-attention benchmarks (the matrix of cases.mjs).

Usage: python3 bench/gpu/torch_gpu.py --cases cases.json --out torch.jsonl [--budget-s 200]
       [--device cpu]   (a dry run of the plumbing: wall-clock times, no memory figures; peers
                         this torch or the CPU lacks are recorded as errors)

Peers, forward only, same shapes as ours, random normal inputs:
  sdpa_fp16            F.scaled_dot_product_attention (dense)
  eager_fp32/_fp16     the Hugging Face algorithms in plain torch ops, eager (bench/peers/
                       torch_peer.py: Longformer's sliding chunks with global tokens,
                       Reformer's LSH attention), with Hugging Face's half-precision mask
                       values in float16
  flex_fp16            FlexAttention, torch.compile'd once, with a block mask built once per
                       case (not timed): sliding window |q - k| <= w, plus global-sliding-window
                       rows and columns for the first G tokens (attention-gym's pattern)
  sort_stable          torch.sort(stable=True) of the bucket ids plus the inverse permutation
  argsort_composite    Reformer's argsort of bucket * N + position plus the inverse permutation

Timing: CUDA events around each call, after two warm-up calls; median of up to 20 calls (3
when the second warm-up took over half a second); inputs rotate among three sets when they would fit in L2.
Peak memory: torch.cuda.max_memory_allocated over one call, minus what was allocated before
(the output and the temporaries). One JSON line per (case, peer) is appended as it goes.
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
import torch_peer  # noqa: E402  (the Hugging Face algorithms, checked against the fixtures)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
L2_BYTES = 64 << 20
DEVICE = "cuda"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--budget-s", type=float, default=200.0)
    p.add_argument("--device", default="cuda")
    return p.parse_args()


class HalfMasks:
    """Hugging Face's mask values for the dtype (float32's overflow float16)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.saved = (torch_peer.FMIN, torch_peer.LSH_MASK, torch_peer.LSH_SELF_MASK)
        if self.dtype == torch.float16:
            torch_peer.FMIN = torch.finfo(torch.float16).min
            torch_peer.LSH_MASK, torch_peer.LSH_SELF_MASK = -1e4, -1e3

    def __exit__(self, *exc):
        torch_peer.FMIN, torch_peer.LSH_MASK, torch_peer.LSH_SELF_MASK = self.saved


def input_sets(case, make):
    """One to three input sets: three when they would fit in L2 (so that L2 is not timed)."""
    first = make(0)
    size = sum(t.numel() * t.element_size() for t in first.values() if torch.is_tensor(t))
    return [first] + [make(i) for i in range(1, 3)] if size < L2_BYTES else [first]


def randn(shape, dtype, seed):
    g = torch.Generator(device=DEVICE).manual_seed(seed)
    return torch.randn(shape, generator=g, device=DEVICE, dtype=torch.float32).to(dtype)


def global_mask(case):
    if not case.get("globals"):
        return None
    mask = torch.zeros(case["B"], case["L"], dtype=torch.int32, device=DEVICE)
    mask[:, : case["globals"]] = 1
    return mask


def flex_block_mask(case):
    from torch.nn.attention.flex_attention import create_block_mask

    w = torch.tensor(case["window"], device=DEVICE)
    g = torch.tensor(case["globals"], device=DEVICE)

    def sliding_global(b, h, q_idx, kv_idx):
        return ((q_idx - kv_idx).abs() <= w) | (q_idx < g) | (kv_idx < g)

    L = case["L"]
    try:
        return create_block_mask(sliding_global, None, None, L, L, device=DEVICE, _compile=True)
    except TypeError:  # a torch without the _compile switch
        return create_block_mask(sliding_global, None, None, L, L, device=DEVICE)


_flex = None


def compiled_flex():
    global _flex
    if _flex is None:
        from torch.nn.attention.flex_attention import flex_attention

        _flex = torch.compile(flex_attention, dynamic=False)
    return _flex


def build(case, impl):
    """(list of input sets, function of one set) for a peer on a case."""
    op = case["op"]
    kind, _, dt = impl.rpartition("_")
    dtype = DTYPES.get(dt)
    shape = (case.get("B"), case.get("H"), case.get("L"), case.get("D"))
    if op == "dense":
        sets = input_sets(case, lambda s: {n: randn(shape, dtype, 10 * s + i) for i, n in enumerate("qkv")})
        causal = bool(case.get("causal"))
        return sets, lambda x: F.scaled_dot_product_attention(x["q"], x["k"], x["v"], is_causal=causal)
    if op == "local" and kind == "eager":
        mask = global_mask(case)
        sets = input_sets(case, lambda s: {n: randn(shape, dtype, 10 * s + i) for i, n in enumerate("qkv")})

        def eager_local(x):
            with HalfMasks(dtype):
                return torch_peer.longformer_attention(x["q"], x["k"], x["v"], mask, x["q"], x["k"], x["v"],
                                                       case["window"])
        return sets, eager_local
    if op == "local" and kind == "flex":
        block_mask = flex_block_mask(case)
        flex = compiled_flex()
        sets = input_sets(case, lambda s: {n: randn(shape, dtype, 10 * s + i) for i, n in enumerate("qkv")})
        return sets, lambda x: flex(x["q"], x["k"], x["v"], block_mask=block_mask)
    if op == "lsh":
        rot_shape = (case["H"], case["D"], case["nHashes"], case["nBuckets"] // 2)
        sets = input_sets(case, lambda s: {"qk": randn(shape, dtype, 10 * s), "v": randn(shape, dtype, 10 * s + 1),
                                           "rotations": randn(rot_shape, dtype, 10 * s + 2)})

        def eager_lsh(x):
            with HalfMasks(dtype):
                return torch_peer.lsh_attention(x["qk"], x["v"], x["rotations"], None, case["nHashes"],
                                                case["nBuckets"], case["chunkLength"], case["chunksBefore"],
                                                case["chunksAfter"], False)
        return sets, eager_lsh
    if op == "sort":
        B, H, N, nb = case["B"], case["H"], case["N"], case["buckets"] // 4

        def buckets(s):
            g = torch.Generator(device=DEVICE).manual_seed(s)
            rounds = torch.arange(N, device=DEVICE) // (N // 4) * nb
            return {"b": (rounds + torch.randint(0, nb, (B, H, N), generator=g, device=DEVICE)).int()}
        sets = input_sets(case, buckets)
        positions = torch.arange(N, device=DEVICE).expand(B, H, N)

        def with_undo(order):
            undo = torch.empty_like(order).scatter_(-1, order, positions.to(order.dtype))
            return order, undo
        if impl == "sort_stable":
            return sets, lambda x: with_undo(torch.sort(x["b"], dim=-1, stable=True).indices)
        return sets, lambda x: with_undo(torch.argsort(x["b"].long() * N + positions, dim=-1))
    raise ValueError(f"no peer {impl} for op {op}")


def timed(fn, x):
    if DEVICE == "cpu":
        started = time.perf_counter()
        fn(x)
        return (time.perf_counter() - started) * 1e3
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    out = fn(x)
    end.record()
    end.synchronize()
    del out
    return start.elapsed_time(end)


def measure(case, impl):
    sets, fn = build(case, impl)
    first = timed(fn, sets[0])  # includes compilation for flex
    slow = timed(fn, sets[1 % len(sets)]) > 500
    on_gpu = DEVICE != "cpu"
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() if on_gpu else 0
    ms = [timed(fn, sets[0])]
    peak = torch.cuda.max_memory_allocated() - base if on_gpu else None
    limit, started = (3, time.time()) if slow else (20, time.time())
    while len(ms) < limit and (len(ms) < 3 or time.time() - started < 2.0):
        ms.append(timed(fn, sets[len(ms) % len(sets)]))
    ms_sorted = sorted(ms)
    n = len(ms_sorted)
    median = ms_sorted[n // 2] if n % 2 else (ms_sorted[n // 2 - 1] + ms_sorted[n // 2]) / 2
    record = {"medianMs": median, "ms": ms, "peakBytes": peak, "firstCallMs": first}
    if case.get("flops"):
        record["tflops"] = case["flops"] / (median * 1e-3) / 1e12
    if case["op"] == "sort":
        record["gkeysPerS"] = case["B"] * case["H"] * case["N"] / (median * 1e-3) / 1e9
    return record


def main():
    global DEVICE
    args = parse_args()
    DEVICE = args.device
    with open(args.cases) as f:
        cases = json.load(f)
    deadline = time.time() + args.budget_s
    if hasattr(torch, "set_default_device"):
        torch.set_default_device(DEVICE)  # the peer's factory calls (arange, ones, zeros) follow
    meta = {"meta": True, "torch": torch.__version__, "device": "cpu"}
    if DEVICE != "cpu":
        meta.update(device=torch.cuda.get_device_name(0), capability=list(torch.cuda.get_device_capability(0)))
    with open(args.out, "w") as out:
        out.write(json.dumps(meta) + "\n")
    print(f"torch {meta['torch']} on {meta['device']}", flush=True)
    for case in cases:
        for impl in case["peers"]:
            record = {"id": case["id"], "side": "torch", "impl": impl}
            if time.time() > deadline:
                record["status"] = "skipped: time budget"
            else:
                try:
                    with torch.no_grad():
                        record.update(measure(case, impl))
                    record["status"] = "ok"
                except torch.cuda.OutOfMemoryError:
                    record["status"] = "out of memory"
                except Exception as e:  # a peer that fails must not stop the others
                    record["status"] = f"error: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
                if DEVICE != "cpu":
                    torch.cuda.empty_cache()
            with open(args.out, "a") as out:
                out.write(json.dumps(record) + "\n")
            figure = (f"{record['medianMs']:.3f} ms" + (f", {record['tflops']:.1f} TFLOP/s" if "tflops" in record else "")
                      + (f", {record['gkeysPerS']:.2f} Gkeys/s" if "gkeysPerS" in record else "")
                      if record["status"] == "ok" else record["status"])
            print(f"torch {case['id']} {impl}: {figure}", flush=True)


if __name__ == "__main__":
    main()
