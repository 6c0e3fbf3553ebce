// Reference attention computations written with plain TensorFlow.js ops, used as a
// peer in the benchmarks. The math follows docs/semantics.md exactly:
//   * denseAttention: softmax(q k^T * scale [+ causal mask]) v
//   * localAttention: Longformer sliding window with global tokens (section 2)
//   * lshAttention:   Reformer LSH attention (section 1, any-L rule 1.10)
//
// Every function takes the `tf` namespace as its first argument, so the same code runs on
// whichever tfjs build and backend the caller has set up. Inputs are tf.Tensors
// [B, H, L, D] (float32); the result is a new tf.Tensor [B, H, L, D] owned by the caller.
// All intermediates are released by tf.tidy; the big ones are released early with
// explicit dispose() calls, because tf.tidy alone keeps every intermediate of a scope
// alive until the scope ends, which would multiply the peak memory at long sequences.
//
// The code is vectorised over tokens (and over batch and heads, except dense attention,
// which runs one head at a time, see denseAttention), and it keeps to ops that are fast
// on both the cpu and the wasm backend (tfjs 4.22, measured):
//   * masks are applied arithmetically on float32 tensors (x * keep + fill), which is
//     exact for 0/1 indicators; on wasm, comparisons with broadcasting run ~40x slower
//     than float arithmetic, and tf.where materialises every broadcast input first;
//   * sliding windows are built from slices of rank-3 views plus one concat; wasm slices
//     of rank > 4 and gathers are slow element-by-element loops;
//   * full-size gathers appear only where a permutation is inherent (LSH sort/un-sort);
//   * batched matmuls run the wasm backend's naive loop (only non-transposed 2-D matmuls
//     reach XNNPACK); that is what local and LSH attention cost a tfjs user there.

/** float32 lowest: Longformer's additive mask value (docs/semantics.md 2.2). */
const FMIN = -3.4028234663852886e38;
/** Reformer's replacement values: masked keys, then the query's own key (docs/semantics.md 1.7). */
const LSH_MASK_VALUE = -1e9;
const LSH_SELF_VALUE = -1e5;

// ---------------------------------------------------------------------------------------
// Small helpers

/** An int32 scalar: a plain JS number in a binary op would promote int32 tensors to float32. */
function int(tf, n) {
  return tf.scalar(n, 'int32');
}

/** Run `fn` in its own tidy scope and dispose `inputs` afterwards (they were temporaries). */
function step(tf, fn, ...inputs) {
  const out = tf.tidy(fn);
  for (const t of inputs) t.dispose();
  return out;
}

/**
 * x where `keep` is 1 and `value` where it is 0 (keep: float 0/1, broadcastable to x):
 * x * keep + (1 - keep) * value, exact for finite x. Disposes x and keep as soon as they
 * are used, so at most three x-sized tensors are alive at once.
 */
function keepOrFill(tf, x, keep, value) {
  const kept = tf.mul(x, keep);
  x.dispose();
  const fill = tf.tidy(() => tf.mul(tf.sub(1, keep), value));
  keep.dispose();
  const out = tf.add(kept, fill);
  kept.dispose();
  fill.dispose();
  return out;
}

/**
 * Sliding windows over blocks: x [N, nIn, blockSize] (nIn blocks); output block i is
 * blocks i + first, ..., i + first + width - 1 of x concatenated: [N, nOut, width *
 * blockSize]. With `wrap` the block index is taken modulo nIn (Reformer's look-around over
 * the whole sorted sequence); otherwise every index must be in range.
 */
function blockWindows(tf, x, nOut, first, width, wrap) {
  const [N, nIn, size] = x.shape;
  return tf.tidy(() => {
    const parts = [];
    for (let o = first; o < first + width; o++) {
      if (!wrap) {
        parts.push(tf.slice(x, [0, o, 0], [N, nOut, size]));
        continue;
      }
      // Rotation by o: output block i = x block (i + o) mod nIn (here nOut == nIn).
      const r = ((o % nIn) + nIn) % nIn;
      parts.push(r === 0 ? x : tf.concat([
        tf.slice(x, [0, r, 0], [N, nIn - r, size]),
        tf.slice(x, [0, 0, 0], [N, r, size])], 1));
    }
    return parts.length === 1 ? parts[0].clone() : tf.concat(parts, 2);
  });
}

/**
 * Per-batch gather: x [...batch, n, ...inner], idx int32 [...batch, m] (batch = all but the
 * last axis of idx); returns [...batch, m, ...inner] with out[..., j, :] = x[..., idx[..., j], :].
 * Written as one flat gather on axis 0 with batch offsets added to the indices, because
 * tf.gather's batchDims gives wrong results on the wasm backend (tfjs 4.22) when the
 * index rows are longer than the gathered axis or a batch axis is not gathered per batch.
 */
function batchGather(tf, x, idx) {
  const k = idx.rank - 1;
  const batch = idx.shape.slice(0, k);
  const nb = batch.reduce((a, b) => a * b, 1);
  const n = x.shape[k];
  const m = idx.shape[k];
  const inner = x.shape.slice(k + 1);
  return tf.tidy(() => {
    const flat = tf.add(idx.reshape([nb, m]), tf.range(0, nb * n, n, 'int32').reshape([nb, 1]));
    return tf.gather(x.reshape([nb * n, ...inner]), flat.reshape([nb * m]), 0)
      .reshape([...batch, m, ...inner]);
  });
}

/**
 * a [N, M, K] x b [N, K, P] as N separate 2-D matmuls, for a small N. The wasm backend
 * runs only non-transposed 2-D matmuls on its XNNPACK GEMM; batched ones take a naive
 * loop several times slower. (With a large N the per-slice overhead would dominate.)
 */
function matMulPerBatch(tf, a, b) {
  return tf.tidy(() => {
    const bs = tf.unstack(b);
    return tf.stack(tf.unstack(a).map((x, i) => tf.matMul(x, bs[i])));
  });
}

/** [B, m] repeated for every head: [B, H, m]. */
function perHead(tf, x, H) {
  const [B, m] = x.shape;
  return tf.tile(x.reshape([B, 1, m]), [1, H, 1]);
}

// ---------------------------------------------------------------------------------------
// Dense attention

/**
 * Plain softmax attention over all keys: softmax(q k^T * scale) v.
 *
 * Runs one (batch, head) at a time with 2-D matmuls: the L x Lk scores then exist for a
 * single head only, and the wasm backend sends non-transposed 2-D matmuls to XNNPACK
 * (see matMulPerBatch).
 *
 * @param {object} tf     the tfjs namespace
 * @param {tf.Tensor} q   [B, H, L, D]
 * @param {tf.Tensor} k   [B, H, Lk, D]
 * @param {tf.Tensor} v   [B, H, Lk, Dv]
 * @param {{scale?: number, causal?: boolean}} opts  scale defaults to 1/sqrt(D); causal
 *        lets query i see keys j <= i.
 * @returns {tf.Tensor} [B, H, L, Dv]
 */
export function denseAttention(tf, q, k, v, { scale, causal = false } = {}) {
  const [B, H, L, D] = q.shape;
  const Lk = k.shape[2];
  const Dv = v.shape[3];
  const s = scale ?? 1 / Math.sqrt(D);
  return tf.tidy(() => {
    // Scale the [L, D] queries rather than the [L, Lk] scores.
    const qs = tf.unstack(tf.mul(q, s).reshape([B * H, L, D]));
    const kT = tf.unstack(tf.transpose(k.reshape([B * H, Lk, D]), [0, 2, 1]));
    const vs = tf.unstack(v.reshape([B * H, Lk, Dv]));
    // Causal: an additive [L, Lk] bias of 0 / -inf (query i sees keys j <= i).
    const bias = causal ? tf.tidy(() => {
      const allowed = tf.lessEqual(tf.range(0, Lk, 1, 'int32').reshape([1, Lk]),
        tf.range(0, L, 1, 'int32').reshape([L, 1]));
      return tf.where(allowed, tf.zeros([L, Lk]), tf.fill([L, Lk], -Infinity));
    }) : null;
    const outs = qs.map((qi, i) => tf.tidy(() => {
      let scores = tf.matMul(qi, kT[i]);
      if (bias) scores = step(tf, () => tf.add(scores, bias), scores);
      const probs = step(tf, () => tf.softmax(scores), scores);
      return tf.matMul(probs, vs[i]);
    }));
    return tf.stack(outs).reshape([B, H, L, Dv]);
  });
}

// ---------------------------------------------------------------------------------------
// Local (sliding-window) attention, Longformer semantics

/**
 * Sliding-window attention with optional global tokens (docs/semantics.md section 2).
 *
 * Query t sees keys t - left ... t + right (those inside [0, L)). The sequence is cut into
 * blocks of max(left, right) tokens; each query block attends to its own block and the
 * neighbouring blocks its window reaches, with a band mask, so the work is O(L * window)
 * and no L x L matrix is formed. The global tokens' keys are appended to every block's
 * keys as extra columns. L need not be a multiple of the block size (the tail is padded
 * and cropped, docs/semantics.md 2.5).
 *
 * @param {object} tf
 * @param {tf.Tensor} q  [B, H, L, D] query projection, not yet scaled by 1/sqrt(D)
 * @param {tf.Tensor} k  [B, H, L, D]
 * @param {tf.Tensor} v  [B, H, L, D]
 * @param {object} opts
 * @param {[number, number]} opts.window        [left, right] one-sided extents (Longformer's
 *        attention_window w is [w/2, w/2])
 * @param {tf.Tensor} [opts.attentionMask]      [B, L], sign matters: < 0 padding, 0 local,
 *        > 0 global token
 * @param {{q: tf.Tensor, k: tf.Tensor, v: tf.Tensor}} [opts.global]  the global
 *        projections [B, H, L, D]; used only when some token is global (if absent, the
 *        local q, k, v serve as global projections too)
 * @returns {tf.Tensor} [B, H, L, D]; padding rows are 0, global rows come from the global
 *        branch
 */
export function localAttention(tf, q, k, v, { window, attentionMask, global } = {}) {
  if (!Array.isArray(window) || window.length !== 2) {
    throw new Error('localAttention: window must be [left, right]');
  }
  const [left, right] = window;
  if (!(Number.isInteger(left) && Number.isInteger(right) && left >= 0 && right >= 0)) {
    throw new Error('localAttention: window extents must be non-negative integers');
  }
  const [B, H, L, D] = q.shape;

  return tf.tidy(() => {
    const bs = Math.max(left, right, 1);        // block size
    const nBlk = Math.ceil(L / bs);
    const Lp = nBlk * bs;                        // padded length
    const nBefore = Math.ceil(left / bs);        // neighbour blocks each side (0 or 1)
    const nAfter = Math.ceil(right / bs);
    const nWin = nBefore + 1 + nAfter;
    const kw = nWin * bs;                        // window keys per query block
    const padL = nBefore * bs;                   // key padding in front / behind
    const padR = Lp - L + nAfter * bs;
    const nPadded = nBlk + nBefore + nAfter;     // key blocks after padding
    const sqrtD = tf.scalar(Math.sqrt(D));       // float32 sqrt(D), as the reference divides

    // Per-token 0/1 float indicators [B, L].
    const mask = attentionMask ? attentionMask.toInt() : tf.zeros([B, L], 'int32');
    const isPad = tf.less(mask, int(tf, 0)).toFloat();
    const isGlobal = tf.greater(mask, int(tf, 0)).toFloat();
    const isRemoved = tf.add(isPad, isGlobal);   // X = P u G: removed from the window part

    // The number of global columns is batch-wide and decides shapes, so it is read back.
    const nGlobalRow = tf.sum(isGlobal, 1);                                   // [B]
    const nMax = tf.max(nGlobalRow).dataSync()[0];

    // Global tokens in ascending position order: the first n_b entries of row b (sort key
    // = position, non-globals pushed behind every global). Slots i >= n_b are unused.
    let gIdx = null;
    let gValid = null;
    if (nMax > 0) {
      gIdx = tf.tidy(() => {
        const pos = tf.range(0, L).reshape([1, L]);
        return tf.topk(tf.neg(tf.add(pos, tf.mul(tf.sub(1, isGlobal), L))), nMax).indices;
      });                                                                       // [B, nMax]
      gValid = tf.less(tf.range(0, nMax).reshape([1, nMax]), nGlobalRow.reshape([B, 1])).toFloat();
    }

    // ---- keys and values per query block: [global keys, window keys] ----------------
    const blockKeys = (x) => step(tf, () => {
      const blocks = tf.pad(x, [[0, 0], [0, 0], [padL, padR], [0, 0]])
        .reshape([B * H, nPadded, bs * D]);
      let keys = blockWindows(tf, blocks, nBlk, 0, nWin, false);             // [BH, nBlk, kw*D]
      if (nMax > 0) {
        const g = batchGather(tf, x, perHead(tf, gIdx, H)).reshape([B * H, 1, nMax * D]);
        keys = tf.concat([tf.tile(g, [1, nBlk, 1]), keys], 2);
      }
      return keys.reshape([B, H, nBlk, nMax + kw, D]);
    });
    const kAll = blockKeys(k);
    const vAll = blockKeys(v);

    // Score bias [B, 1, nBlk, bs, nMax + kw] = key part + band part:
    //   window key j: -inf if j is outside [0, L) (the key does not exist) or outside the
    //   query's band; FMIN added if j is padding or global (an addition, as in the
    //   reference); global column i: 0, or FMIN for an unused slot (i >= n_b). The band
    //   part depends only on the query's offset inside its block, not on the block.
    const bias = tf.tidy(() => {
      const keyFlat = tf.concat([
        tf.fill([B, padL], -Infinity), tf.mul(isRemoved, FMIN), tf.fill([B, padR], -Infinity),
      ].filter((t) => t.size > 0), 1);
      let keyPart = blockWindows(tf, keyFlat.reshape([B, nPadded, bs]), nBlk, 0, nWin, false);
      const u = tf.range(0, bs).reshape([bs, 1]);                            // query offset in block
      const off = tf.sub(tf.range(-padL, kw - padL).reshape([1, kw]), u);   // key pos - query pos
      const inBand = tf.logicalAnd(tf.greaterEqual(off, -left), tf.lessEqual(off, right));
      let bandPart = tf.where(inBand, tf.zeros([bs, kw]), tf.fill([bs, kw], -Infinity));
      if (nMax > 0) {
        const unused = tf.mul(tf.sub(1, gValid), FMIN).reshape([B, 1, nMax]);
        keyPart = tf.concat([tf.tile(unused, [1, nBlk, 1]), keyPart], 2);
        bandPart = tf.concat([tf.zeros([bs, nMax]), bandPart], 1);
      }
      return tf.add(keyPart.reshape([B, 1, nBlk, 1, nMax + kw]), bandPart);
    });

    const qBlk = tf.tidy(() => tf.div(q, sqrtD).pad([[0, 0], [0, 0], [0, Lp - L], [0, 0]])
      .reshape([B, H, nBlk, bs, D]));
    const scores = step(tf, () => tf.add(tf.matMul(qBlk, kAll, false, true), bias), qBlk, kAll, bias);
    const probs = step(tf, () => tf.softmax(scores), scores);
    const out = step(tf, () => {
      let o = tf.matMul(probs, vAll).reshape([B * H, Lp, D]);
      if (Lp > L) o = tf.slice(o, [0, 0, 0], [B * H, L, D]);
      // Padding rows output zero.
      return tf.mul(o.reshape([B, H, L, D]), tf.sub(1, isPad).reshape([B, 1, L, 1]));
    }, probs, vAll);
    if (nMax === 0) return out;

    // ---- global branch: each global token attends to every non-padding token ---------
    const gq = global?.q ?? q;
    const gk = global?.k ?? k;
    const gv = global?.v ?? v;
    const outGlobal = tf.tidy(() => {
      const qg = tf.div(batchGather(tf, gq, perHead(tf, gIdx, H)), sqrtD);   // [B, H, nMax, D]
      const s = tf.matMul(qg, gk, false, true);                              // [B, H, nMax, L]
      const masked = keepOrFill(tf, s, tf.sub(1, isPad).reshape([B, 1, 1, L]), FMIN); // padding keys
      return tf.matMul(tf.softmax(masked), gv).reshape([B * H, nMax, D]);
    });
    // Put each global row in place: a one-hot [L, nMax] selection matmul (exact: one
    // 1 * x term per global row, zeros elsewhere), then keep the local rows elsewhere.
    return tf.tidy(() => {
      // (oneHot with dtype float32 returns zeros on wasm in tfjs 4.22, hence the cast.)
      const sel = tf.mul(tf.oneHot(gIdx, L).toFloat(), gValid.reshape([B, nMax, 1]))
        .transpose([0, 2, 1]);                                                // [B, L, nMax]
      const placed = tf.matMul(tf.tile(sel.reshape([B, 1, L, nMax]), [1, H, 1, 1])
        .reshape([B * H, L, nMax]), outGlobal).reshape([B, H, L, D]);
      return tf.add(tf.mul(out, tf.sub(1, isGlobal).reshape([B, 1, L, 1])), placed);
    });
  });
}

// ---------------------------------------------------------------------------------------
// LSH attention, Reformer semantics

/** Rotation width and bucket count for an int or factorised bucket spec (docs/semantics.md 1.3). */
function bucketSpec(nBuckets) {
  const factors = Array.isArray(nBuckets) ? nBuckets : [nBuckets];
  for (const f of factors) {
    if (!Number.isInteger(f) || f < 2 || f % 2 !== 0) {
      throw new Error(`lshAttention: bucket counts must be even integers, got ${f}`);
    }
  }
  return {
    factors,
    rot: factors.reduce((a, b) => a + b, 0),
    n: factors.reduce((a, b) => a * b, 1),
  };
}

/**
 * Key normalisation n(x) = (x * rsqrt(mean_d(x^2) + 1e-6)) / sqrt(D), in that order
 * (docs/semantics.md 1.6).
 */
function normaliseKeys(tf, x) {
  const D = x.shape[x.rank - 1];
  return tf.tidy(() => tf.div(
    tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))),
    tf.scalar(Math.sqrt(D))));
}

/**
 * Hash every (round, token) and sort each round's tokens by (bucket, position).
 *
 * @param isPadToken [B, L] bool, or null: padding tokens get the extra bucket N
 * @returns {{bucket, order, undo}} each [B, H, nh, L] int32: bucket ids without round
 *   offsets; the token positions of each round in sorted order; the inverse permutation
 *   inside each round (undo[order[j]] = j).
 *
 * Rounds occupy disjoint bucket ranges (bucket + r * N'), so the stable global sort of the
 * reference (key buckets[i] * nh*L + i) never mixes rounds: sorting every round on its own
 * by bucket * L + t gives the same permutation with keys small enough for int32.
 */
function hashAndSort(tf, qk, rotations, nBuckets, isPadToken) {
  const [B, H, L, D] = qk.shape;
  const { factors, rot, n } = bucketSpec(nBuckets);
  const [rH, rD, nh, half] = rotations.shape;
  if (rH !== H || rD !== D || half !== rot / 2) {
    throw new Error(`lshAttention: rotations must be [${H}, ${D}, nHashes, ${rot / 2}], ` +
      `got [${rotations.shape}]`);
  }
  if ((n + 1) * L > 2 ** 31 - 1) throw new Error('lshAttention: sort key exceeds int32');
  return tf.tidy(() => {
    // y[b, h, r, t, :] = qk[b, h, t, :] . R[h, :, r, :]: one 2-D matmul per head.
    const y = matMulPerBatch(tf,
      qk.transpose([1, 0, 2, 3]).reshape([H, B * L, D]),
      rotations.reshape([H, D, nh * half]))
      .reshape([H, B, L, nh, half]).transpose([1, 0, 3, 2, 4]);             // [B, H, nh, L, half]
    // Factor i: argmax over concat(piece, -piece); argMax picks the first maximum.
    let bucket = null;
    let start = 0;
    let stride = 1;
    for (const f of factors) {
      const piece = factors.length === 1 ? y : tf.slice(y, [0, 0, 0, 0, start], [-1, -1, -1, -1, f / 2]);
      const a = tf.argMax(tf.concat([piece, tf.neg(piece)], 4), 4);
      const term = stride === 1 ? a : tf.mul(a, int(tf, stride));
      bucket = bucket === null ? term : tf.add(bucket, term);
      start += f / 2;
      stride *= f;
    }
    if (isPadToken) {
      // Padding tokens take the extra last bucket N in every head and round.
      bucket = tf.where(isPadToken.reshape([B, 1, 1, L]).broadcastTo(bucket.shape),
        tf.fill(bucket.shape, n, 'int32'), bucket);
    }
    // Ascending sort via top-k of the negated (unique) keys.
    const key = tf.add(tf.mul(bucket, int(tf, L)), tf.range(0, L, 1, 'int32'));
    const order = tf.topk(tf.neg(key), L).indices;
    const undo = tf.topk(tf.neg(order), L).indices;                          // argsort of a permutation
    return { bucket, order, undo };
  });
}

/**
 * Scores, masks and log-sum-exp of query slots against key slots (docs/semantics.md 1.7).
 * @param q [..., c, D]  @param k, v [..., K, D]
 * @param qPos [..., c, 1], kPos [..., 1, K]  original token positions (float32, exact)
 * @param keyOk [..., 1, K] float 1 = real key, 0 = padding; or null
 * @returns {{out, lse}} out [..., c, D], lse [..., c, 1]
 */
function maskedAttend(tf, q, k, v, qPos, kPos, keyOk, causal) {
  let scores = tf.matMul(q, k, false, true);
  const offset = tf.sub(kPos, qPos);             // integer-valued: key position - query position
  // 1. mask (replace with -1e9): padding keys and, if causal, keys after the query.
  let allowed = keyOk ? keyOk.clone() : null;
  if (causal) {
    const past = tf.tidy(() => tf.sub(1, tf.clipByValue(offset, 0, 1)));  // 1 iff offset <= 0
    allowed = allowed ? step(tf, () => tf.mul(past, allowed), past, allowed) : past;
  }
  if (allowed) scores = keepOrFill(tf, scores, allowed, LSH_MASK_VALUE);
  // 2. self mask (replace with -1e5) after it: every copy of the query's own token.
  const notSelf = step(tf, () => tf.minimum(tf.abs(offset), 1), offset);   // 0 iff offset == 0
  scores = keepOrFill(tf, scores, notSelf, LSH_SELF_VALUE);
  // 3. float32 max + log(sum(exp(x - max))): the rounding of that last addition is part of
  // the reference result (docs/semantics.md 1.9).
  const lse = tf.logSumExp(scores, -1, true);
  const probs = step(tf, () => tf.exp(tf.sub(scores, lse)), scores);
  const out = tf.matMul(probs, v);
  probs.dispose();
  return { out, lse };
}

/**
 * Reformer LSH self-attention (docs/semantics.md section 1).
 *
 * @param {object} tf
 * @param {tf.Tensor} qk  [B, H, L, D] shared query/key vectors (raw)
 * @param {tf.Tensor} v   [B, H, L, D]
 * @param {object} opts
 * @param {tf.Tensor} opts.rotations     [H, D, nHashes, rot/2] random rotations (unused
 *        when L <= chunkLength)
 * @param {number} opts.nHashes
 * @param {number|number[]} opts.nBuckets  even int, or list of even factors
 * @param {number} opts.chunkLength
 * @param {number} opts.chunksBefore
 * @param {number} opts.chunksAfter
 * @param {boolean} [opts.causal]
 * @param {tf.Tensor} [opts.paddingMask]  [B, L], 1 real token, 0 padding
 * @returns {tf.Tensor} [B, H, L, D], rounds combined, before heads are merged
 */
export function lshAttention(tf, qk, v, {
  rotations, nHashes, nBuckets, chunkLength, chunksBefore = 0, chunksAfter = 0,
  causal = false, paddingMask,
} = {}) {
  const [B, H, L0, D] = qk.shape;
  const c = chunkLength;
  if (!(Number.isInteger(c) && c > 0)) throw new Error('lshAttention: chunkLength must be a positive integer');
  return tf.tidy(() => {
    // Any L (docs/semantics.md 1.10): pad to a multiple of c with padding tokens, crop at the end.
    let L = L0;
    let mask = paddingMask ? paddingMask.toInt() : null;
    if (L0 > c && L0 % c !== 0) {
      L = Math.ceil(L0 / c) * c;
      const extra = L - L0;
      qk = tf.pad(qk, [[0, 0], [0, 0], [0, extra], [0, 0]]);
      v = tf.pad(v, [[0, 0], [0, 0], [0, extra], [0, 0]]);
      mask = tf.concat([mask ?? tf.ones([B, L0], 'int32'), tf.zeros([B, extra], 'int32')], 1);
    }
    const keyOk = mask ? tf.equal(mask, int(tf, 1)).toFloat() : null;        // [B, L]

    let out;
    if (L <= c) {
      // Standard path: full attention with the same masks, no hashing (docs/semantics.md 1.2).
      const pos = tf.range(0, L);
      out = maskedAttend(tf, qk, normaliseKeys(tf, qk), v, pos.reshape([L, 1]), pos.reshape([1, L]),
        keyOk ? keyOk.reshape([B, 1, 1, L]) : null, causal).out;
    } else {
      out = chunkedLsh(tf, qk, v, keyOk, {
        rotations, nHashes, nBuckets, c, nb: chunksBefore, na: chunksAfter, causal,
      });
    }
    return L === L0 ? out
      : tf.slice(out.reshape([B * H, L, D]), [0, 0, 0], [B * H, L0, D]).reshape([B, H, L0, D]);
  });
}

/** The chunked LSH path (docs/semantics.md 1.3 - 1.8) for L a multiple of c, L > c. */
function chunkedLsh(tf, qk, v, keyOk, { rotations, nHashes, nBuckets, c, nb, na, causal }) {
  const [B, H, L, D] = qk.shape;
  const nh = nHashes;
  if (!rotations || rotations.shape[2] !== nh) {
    throw new Error(`lshAttention: rotations must have nHashes (${nh}) rounds`);
  }
  const S = nh * L;                              // sorted slots, round r at [r*L, (r+1)*L)
  const nC = S / c;
  const w = nb + 1 + na;                         // chunks attended per query chunk
  const isPadToken = keyOk ? tf.equal(keyOk, 0) : null;
  const { order, undo } = hashAndSort(tf, qk, rotations, nBuckets, isPadToken);

  // Gather into sorted order; normalising after the gather is the same per-row operation.
  const pos = order.reshape([B, H, S]);                                     // pos(j)
  const qS = batchGather(tf, qk, pos);                                      // [B, H, S, D]
  const vS = batchGather(tf, v, pos);
  // Keys/values of chunk k: chunks k - nb .. k + na, wrapping around all rounds.
  const around = (x, size) => step(tf, () =>
    blockWindows(tf, x.reshape([B * H, nC, c * size]), nC, -nb, w, true), x);
  const kC = around(normaliseKeys(tf, qS), D).reshape([B, H, nC, w * c, D]);
  const vC = around(vS, D).reshape([B, H, nC, w * c, D]);
  const qC = qS.reshape([B, H, nC, c, D]);
  const posF = pos.toFloat();
  const qPos = posF.reshape([B, H, nC, c, 1]);
  const kPos = around(posF.clone(), 1).reshape([B, H, nC, 1, w * c]);
  const kOk = keyOk
    ? around(batchGather(tf, perHead(tf, keyOk, H), pos), 1).reshape([B, H, nC, 1, w * c])
    : null;

  const { out: oS, lse: lseS } = maskedAttend(tf, qC, kC, vC, qPos, kPos, kOk, causal);
  qS.dispose(); kC.dispose(); vC.dispose();

  // Un-sort: the slot of token t in round r is r*L + undo[r, t].
  const undoFlat = tf.tidy(() => tf.add(undo,
    tf.range(0, S, L, 'int32').reshape([1, 1, nh, 1])).reshape([B, H, S]));
  const o = step(tf, () => batchGather(tf, oS.reshape([B, H, S, D]), undoFlat)
    .reshape([B, H, nh, L, D]), oS);
  if (nh === 1) return o.reshape([B, H, L, D]);
  const lse = batchGather(tf, lseS.reshape([B, H, S]), undoFlat).reshape([B, H, nh, L]);

  // Combine rounds with weights exp(lse_r - logsumexp_r lse_r) (float32, docs/semantics.md 1.8).
  return tf.tidy(() => {
    const weights = tf.exp(tf.sub(lse, tf.logSumExp(lse, 2, true)));
    return tf.sum(tf.mul(o, weights.expandDims(4)), 2);
  });
}

/**
 * The hashing and sorting stage on its own, in the layout of the golden fixtures:
 * buckets [B, H, nh*L] with round offsets (bucket + r*N') and sorted_idx [B, H, nh*L]
 * (flat indices r*L + t). For the chunked path with L a multiple of chunkLength.
 */
export function lshBucketsAndOrder(tf, qk, { rotations, nBuckets, paddingMask }) {
  return tf.tidy(() => {
    const [B, H, L] = qk.shape;
    const nh = rotations.shape[2];
    // The padding bucket exists only if the batch has a padding token (docs/semantics.md 1.3).
    const hasPad = paddingMask != null && tf.min(paddingMask).dataSync()[0] === 0;
    const isPadToken = hasPad ? tf.equal(paddingMask.toInt(), int(tf, 0)) : null;
    const { bucket, order } = hashAndSort(tf, qk, rotations, nBuckets, isPadToken);
    const nPrime = bucketSpec(nBuckets).n + (hasPad ? 1 : 0);
    const roundStart = (step) => tf.range(0, nh * step, step, 'int32').reshape([1, 1, nh, 1]);
    return {
      buckets: tf.add(bucket, roundStart(nPrime)).reshape([B, H, nh * L]),
      sortedIdx: tf.add(order, roundStart(L)).reshape([B, H, nh * L]),
    };
  });
}
