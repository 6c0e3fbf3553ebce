#!/usr/bin/python3
"""Checks the PyTorch peer (torch_peer.py) against the golden fixtures.

Usage: /usr/bin/python3 bench/peers/check_torch_peer.py [FIXTURE_DIR]

FIXTURE_DIR defaults to <repo>/test/fixtures if it exists, else <repo>/../shared/fixtures.
Every "lsh" and "local" fixture is run through the peer exactly as the benchmark runs it
(a JOB.json plus raw input files in a temporary folder) and its output is compared with the
fixture's `out`, once with Hugging Face's algorithms and once with the blocked ones
("algorithm": "blocked"), and the blocked local attention with asymmetric windows against a
float64 NumPy reference on each local fixture's q, k, v; the "dense" op is checked on each local fixture's q, k, v against a float64
NumPy reference. Pass: relative L2 error <= 1e-5. Prints one line per case and a summary;
exits non-zero if any case fails.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PEER = os.path.join(HERE, "torch_peer.py")
# Debian's python carries torch; a pyenv/venv python first on PATH usually does not.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
TOLERANCE = 1e-5

NUMPY_DTYPES = {"F32": "<f4", "I32": "<i4"}
JOB_DTYPES = {"F32": "float32", "I32": "int32"}


def read_safetensors(path):
    """Returns ({name: ndarray}, metadata) for a safetensors file (F32 / I32 tensors)."""
    with open(path, "rb") as f:
        blob = f.read()
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    data = blob[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=NUMPY_DTYPES[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors, metadata


def run_peer(op, inputs, config, workdir, algorithm=None):
    """Writes inputs as raw files plus a job, runs the peer, returns its float32 output."""
    specs = {}
    for name, array in inputs.items():
        kind = "I32" if array.dtype.kind == "i" else "F32"
        array.astype(NUMPY_DTYPES[kind]).tofile(os.path.join(workdir, name + ".bin"))
        specs[name] = {"file": name + ".bin", "dtype": JOB_DTYPES[kind],
                       "shape": list(array.shape)}
    job = {"op": op, "dir": workdir, "inputs": specs, "config": config,
           "warmup": 0, "repeats": 1, "output": "out.f32", "threads": 1}
    if algorithm:
        job["algorithm"] = algorithm
    job_path = os.path.join(workdir, "job.json")
    with open(job_path, "w") as f:
        json.dump(job, f)
    proc = subprocess.run([PYTHON, PEER, job_path], capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"peer exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    result = json.loads(lines[-1])
    if not result.get("ok"):
        raise RuntimeError(result.get("error", "peer reported failure"))
    return np.fromfile(os.path.join(workdir, "out.f32"), dtype="<f4")


def relative_l2(got, want):
    got, want = np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel()
    if got.shape != want.shape:
        return float("inf")
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))


def lsh_case(t, cfg):
    inputs = {"qk": t["qk"], "v": t["v"]}
    if "rotations" in t:
        inputs["rotations"] = t["rotations"]
    if "padding_mask" in t:
        inputs["paddingMask"] = t["padding_mask"]
    config = {"nHashes": cfg["num_hashes"], "nBuckets": cfg["num_buckets"],
              "chunkLength": cfg["chunk_length"], "chunksBefore": cfg["num_chunks_before"],
              "chunksAfter": cfg["num_chunks_after"], "causal": cfg["causal"]}
    return "lsh", inputs, config


def local_case(t, cfg):
    names = {"q": "q", "k": "k", "v": "v", "q_global": "qGlobal", "k_global": "kGlobal",
             "v_global": "vGlobal", "attention_mask": "attentionMask"}
    inputs = {job_name: t[name] for name, job_name in names.items() if name in t}
    a = cfg["attention_window"] // 2
    return "local", inputs, {"window": [a, a]}


def dense_reference(q, k, v, scale, causal, window=None):
    """float64 softmax attention; causal, or with window [left, right]: key j of query i
    counts when -left <= j - i <= right."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) * scale
    L = scores.shape[-1]
    offset = np.arange(L)[None, :] - np.arange(L)[:, None]
    if causal:
        scores = np.where(offset > 0, -np.inf, scores)
    if window is not None:
        scores = np.where((offset < -window[0]) | (offset > window[1]), -np.inf, scores)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def default_fixture_dir():
    local = os.path.join(REPO, "test", "fixtures")
    return local if os.path.isdir(local) else os.path.normpath(
        os.path.join(REPO, "..", "shared", "fixtures"))


def main(argv):
    fixture_dir = argv[1] if len(argv) > 1 else default_fixture_dir()
    files = sorted(f for f in os.listdir(fixture_dir) if f.endswith(".safetensors"))
    cases = []  # (label, op, inputs, config, expected, algorithm)
    for name in files:
        tensors, meta = read_safetensors(os.path.join(fixture_dir, name))
        kind, cfg = meta.get("kind"), json.loads(meta.get("config", "{}"))
        case = lsh_case if kind == "lsh" else local_case if kind == "local" else None
        if case:
            for algorithm in (None, "blocked"):
                cases.append((f"{name}{' (blocked)' if algorithm else ''}", *case(tensors, cfg),
                              tensors["out"], algorithm))
        if kind == "local":
            q, k, v = tensors["q"], tensors["k"], tensors["v"]
            a = cfg["attention_window"] // 2
            for window in ([a, 0], [3, a + 5]):  # asymmetric windows: the blocked algorithm only
                cases.append((f"window {window} on {name} (blocked)", "local", {"q": q, "k": k, "v": v},
                              {"window": window}, dense_reference(q, k, v, 1 / np.sqrt(q.shape[-1]),
                                                                  False, window), "blocked"))
            for causal, scale in ((False, None), (True, None), (False, 0.37)):
                ref_scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
                config = {"causal": causal} if scale is None else {"causal": causal,
                                                                   "scale": scale}
                label = f"dense(causal={causal}, scale={scale}) on {name}"
                cases.append((label, "dense", {"q": q, "k": k, "v": v}, config,
                              dense_reference(q, k, v, ref_scale, causal), None))

    failures = 0
    for label, op, inputs, config, expected, algorithm in cases:
        with tempfile.TemporaryDirectory(prefix="torch-peer-check-") as workdir:
            try:
                err = relative_l2(run_peer(op, inputs, config, workdir, algorithm), expected)
                status = "ok  " if err <= TOLERANCE else "FAIL"
                detail = f"rel L2 {err:.2e}"
            except Exception as e:  # report and carry on with the other cases
                status, detail, err = "FAIL", f"error: {e}", float("inf")
        failures += status == "FAIL"
        print(f"{status} {op:5s} {label}: {detail}", flush=True)

    print(f"{len(cases) - failures}/{len(cases)} cases passed "
          f"(fixtures: {fixture_dir}, tolerance {TOLERANCE:g})")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
