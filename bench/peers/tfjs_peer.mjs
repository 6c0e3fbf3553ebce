// TensorFlow.js peer for the benchmarks: runs one job in this process and prints one JSON
// line on stdout.
//
//   node bench/peers/tfjs_peer.mjs JOB.json
//
// JOB.json:
//   {"op": "dense" | "local" | "lsh", "backend": "cpu" | "wasm",
//    "dir": "/abs/path",                       // input/output files are relative to it
//    "inputs": {"q": {"file": "q.f32", "dtype": "float32", "shape": [B, H, L, D]}, ...},
//        dense: q, k, v
//        local: q, k, v, optional attentionMask (int32 [B, L]), qGlobal, kGlobal, vGlobal
//        lsh:   qk, v, rotations [H, D, nh, rot/2], optional paddingMask (int32 [B, L])
//    "config": {...},    // dense {scale?, causal?}; local {window: [l, r]};
//                        // lsh {nHashes, nBuckets, chunkLength, chunksBefore, chunksAfter, causal}
//    "warmup": 1, "repeats": 3,
//    "profile": true,                          // optional, default true (see peakBytes)
//    "output": "out.f32"}                      // optional: the result, float32 raw LE
//
// Success: {"ok": true, "ms": [...], "medianMs": x, "peakBytes": n, "backend": "wasm",
//           "tfjs": "4.22.0", "maxRssBytes": n, "wasmHeapBytes": n}
// Failure: {"ok": false, "error": "..."} and exit status 1. Failures inside the backend
// (for example the wasm heap running out: "memory access out of bounds") are reported the
// same way.
//
// Each timed run covers the whole computation including dataSync() of the result, so
// the backend has really finished. peakBytes is tf.profile's peakBytes (bytes held by
// live tensors, inputs included) of one untimed run: the first warm-up run, or with no
// warm-up an extra run after the timed ones. "profile": false skips it (peakBytes null)
// for runs too slow to repeat; the tensors, and so peakBytes, are the same on every
// backend. tf.profile counts every live tensor handle, so reshaped views of one buffer
// count more than once and peakBytes can exceed the memory really held; maxRssBytes (the
// process's peak resident set) and, on wasm, wasmHeapBytes (the size the wasm heap grew
// to, at most 4 GiB) are the physical high-water marks.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

// stdout carries exactly one JSON line; anything the libraries print goes to stderr.
const writeStdout = process.stdout.write.bind(process.stdout);
for (const name of ['log', 'info', 'debug']) {
  console[name] = (...args) => console.error(...args);
}

let reported = false;
function report(obj) {
  if (reported) return;
  reported = true;
  writeStdout(JSON.stringify(obj) + '\n');
  if (!obj.ok) process.exitCode = 1;
}
// If something ends the process without returning here (an abort inside the wasm
// runtime, for instance), still leave a parseable line.
process.on('exit', (code) => {
  if (!reported) report({ ok: false, error: `process exited with status ${code} before finishing` });
});
process.on('uncaughtException', (e) => {
  report({ ok: false, error: errorText(e) });
  process.exit(1);
});

function errorText(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

const TYPED = { float32: Float32Array, int32: Int32Array };

/** Load a raw little-endian row-major file into a typed array of the given dtype. */
function readRaw(file, dtype, shape) {
  const Ctor = TYPED[dtype];
  if (!Ctor) throw new Error(`unsupported dtype ${dtype}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const buf = readFileSync(file);
  if (buf.length !== count * 4) {
    throw new Error(`${file}: ${buf.length} bytes, expected ${count * 4} for shape [${shape}]`);
  }
  // Copy into a fresh, aligned buffer (a Buffer's byteOffset need not be a multiple of 4).
  const out = new Ctor(count);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

async function useBackend(tf, name) {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries sit next to the package's main file in dist/.
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dist + path.sep);
  } else if (name !== 'cpu') {
    throw new Error(`unsupported backend ${name} (cpu or wasm)`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A function that runs the job's computation once and returns the result tensor. */
function makeRun(tf, ops, job, t) {
  const cfg = job.config ?? {};
  switch (job.op) {
    case 'dense':
      return () => ops.denseAttention(tf, t.q, t.k, t.v, { scale: cfg.scale, causal: !!cfg.causal });
    case 'local': {
      const global = t.qGlobal ? { q: t.qGlobal, k: t.kGlobal ?? t.k, v: t.vGlobal ?? t.v } : undefined;
      return () => ops.localAttention(tf, t.q, t.k, t.v, {
        window: cfg.window, attentionMask: t.attentionMask, global,
      });
    }
    case 'lsh':
      return () => ops.lshAttention(tf, t.qk, t.v, {
        rotations: t.rotations,
        nHashes: cfg.nHashes,
        nBuckets: cfg.nBuckets,
        chunkLength: cfg.chunkLength,
        chunksBefore: cfg.chunksBefore ?? 0,
        chunksAfter: cfg.chunksAfter ?? 0,
        causal: !!cfg.causal,
        paddingMask: t.paddingMask,
      });
    default:
      throw new Error(`unknown op ${job.op} (dense, local or lsh)`);
  }
}

async function main() {
  const jobFile = process.argv[2];
  if (!jobFile) throw new Error('usage: node tfjs_peer.mjs JOB.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8'));
  const dir = job.dir ?? path.dirname(path.resolve(jobFile));
  const warmup = job.warmup ?? 1;
  const repeats = job.repeats ?? 3;
  if (!(repeats >= 1)) throw new Error('repeats must be >= 1');

  const tf = await import('@tensorflow/tfjs');
  const ops = await import('./tfjs_ops.mjs');
  const backend = job.backend ?? 'cpu';
  await useBackend(tf, backend);

  const t = {};
  for (const [name, spec] of Object.entries(job.inputs ?? {})) {
    const data = readRaw(path.resolve(dir, spec.file), spec.dtype ?? 'float32', spec.shape);
    t[name] = tf.tensor(data, spec.shape, spec.dtype ?? 'float32');
  }
  const run = makeRun(tf, ops, job, t);
  const once = () => {
    const r = run();
    r.dataSync();
    return r;
  };

  const wantProfile = job.profile ?? true;
  let peakBytes = null;
  let result = null;
  const profiled = async () => {
    const p = await tf.profile(() => once());
    peakBytes = p.peakBytes;
    return p.result;
  };
  for (let i = 0; i < warmup; i++) {
    result?.dispose();
    result = i === 0 && wantProfile ? await profiled() : once();
  }

  const ms = [];
  for (let i = 0; i < repeats; i++) {
    result?.dispose();
    const t0 = performance.now();
    result = once();
    ms.push(performance.now() - t0);
  }
  if (wantProfile && peakBytes === null) {
    result.dispose();
    result = await profiled();
  }

  if (job.output) {
    const data = result.dataSync();
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    writeFileSync(path.resolve(dir, job.output), new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
  }
  result.dispose();

  report({
    ok: true,
    ms: ms.map((x) => Math.round(x * 1000) / 1000),
    medianMs: Math.round(median(ms) * 1000) / 1000,
    peakBytes,
    backend: tf.getBackend(),
    tfjs: tf.version.tfjs ?? tf.version_core,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(backend === 'wasm' ? { wasmHeapBytes: tf.backend().wasm.HEAPU8.byteLength } : {}),
  });
}

main().catch((e) => report({ ok: false, error: errorText(e) }));
