// The ONNX models of the onnxruntime peer, built here as ModelProto bytes (onnx-proto), so that
// no model file is downloaded or kept in the repository. Each graph is one operator of
// onnxruntime's contrib domain (com.microsoft), which its CPU execution provider implements:
//
//   dense:  MultiHeadAttention(query, key, value)                       non-causal softmax attention
//   causal: GroupQueryAttention(query, key, value, , , seqlens_k,       causal attention over the
//           total_sequence_length) with local_window_size w             w previous keys and itself
//
// Inputs and outputs are in the operators' layout, [B, L, H·D] (BSNH), float32; the peer
// converts to and from the package's [B, H, L, D] outside the timed runs. No past key/value
// (a prompt, not a decoding step) and no rotary embedding.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
/** The ONNX IR version onnx-proto 8 defines, and the standard opset it goes with. */
const IR_VERSION = 8;
const ONNX_OPSET = 17;
const MS_DOMAIN = 'com.microsoft';

function valueInfo(name, elemType, dims) {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function intAttribute(name, i) {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

function floatAttribute(name, f) {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

function encodeModel(node, inputs, outputs) {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'sparse-attention bench',
    opsetImport: [{ domain: '', version: ONNX_OPSET }, { domain: MS_DOMAIN, version: 1 }],
    graph: { name: node.opType, node: [{ domain: MS_DOMAIN, ...node }], input: inputs, output: outputs },
  });
  const error = onnx.ModelProto.verify(model);
  if (error) throw new Error(`onnx model: ${error}`);
  return onnx.ModelProto.encode(model).finish();
}

/** [B, 'L', H·D] float32 value infos for `names` (the sequence length is left symbolic). */
function sequences(names, B, hidden) {
  return names.map((n) => valueInfo(n, FLOAT, [B, 'L', hidden]));
}

/**
 * Dense attention: MultiHeadAttention with `heads` heads of size `headSize` and softmax scale
 * `scale` (the operator's default is 1/√headSize). Inputs query, key, value; output output.
 */
export function multiHeadAttentionModel({ B, heads, headSize, scale }) {
  const hidden = heads * headSize;
  const attribute = [intAttribute('num_heads', heads)];
  if (scale !== undefined) attribute.push(floatAttribute('scale', scale));
  return encodeModel(
    { opType: 'MultiHeadAttention', input: ['query', 'key', 'value'], output: ['output'], attribute },
    sequences(['query', 'key', 'value'], B, hidden),
    sequences(['output'], B, hidden),
  );
}

/**
 * Causal local attention: GroupQueryAttention with as many key/value heads as query heads
 * (plain multi-head attention), `localWindowSize` keys before each query, no past and no
 * rotary embedding. Inputs query, key, value, seqlens_k (int32 [B], L − 1 per sequence) and
 * total_sequence_length (int32 [1], L); output output.
 */
export function causalLocalAttentionModel({ B, heads, headSize, localWindowSize, scale }) {
  const hidden = heads * headSize;
  const attribute = [
    intAttribute('num_heads', heads),
    intAttribute('kv_num_heads', heads),
    intAttribute('local_window_size', localWindowSize),
    intAttribute('do_rotary', 0),
  ];
  if (scale !== undefined) attribute.push(floatAttribute('scale', scale));
  return encodeModel(
    {
      opType: 'GroupQueryAttention',
      // past_key and past_value are left out (empty names): the whole sequence is the prompt.
      input: ['query', 'key', 'value', '', '', 'seqlens_k', 'total_sequence_length'],
      output: ['output'],
      attribute,
    },
    [
      ...sequences(['query', 'key', 'value'], B, hidden),
      valueInfo('seqlens_k', INT32, [B]),
      valueInfo('total_sequence_length', INT32, [1]),
    ],
    sequences(['output'], B, hidden),
  );
}
