import type { DeviceBuffer, NativeTensor } from '../binding.js';
import { arrayTypeOf, bytesPerElement, defaultDTypeOf, DTYPES, dtypeCode, type DType, type TensorData } from './dtype.js';
import { canonicalDevice, deviceIndex, type Device } from './device.js';
import { AttentionError } from './errors.js';
import { trackCpuBytes } from './memory.js';
import { native } from './native.js';
import { runNative } from './run.js';
import { checkOptions, checkShape, describe, describeSelf, shapeText } from './arguments.js';

// Node 20.0-20.3 lack Symbol.dispose; later versions and TypeScript use this same registered symbol.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('nodejs.dispose');

// Forgotten CPU tensors stop counting in memoryStats when collected; device buffers free
// themselves through their own native finalizer.
const cpuRegistry = new FinalizationRegistry<number>((bytes) => trackCpuBytes(-bytes));

/** A zeroed host array; a failed allocation is OUT_OF_MEMORY, not V8's RangeError. */
function hostArray(fn: string, dtype: DType, count: number): TensorData {
  try {
    return new (arrayTypeOf(dtype))(count);
  } catch (error) {
    throw new AttentionError('OUT_OF_MEMORY', `${fn}: cannot allocate ${count * bytesPerElement(dtype)} bytes of host memory`, { cause: error });
  }
}

/** A dense row-major tensor on the CPU or a CUDA device. */
export class Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly device: Device;
  #host: TensorData | undefined;
  #buffer: DeviceBuffer | undefined;
  #deviceIndex: number;
  #disposed = false;

  private constructor(dtype: DType, shape: readonly number[], index: number, host?: TensorData, buffer?: DeviceBuffer) {
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.device = canonicalDevice(index);
    this.#deviceIndex = index;
    this.#host = host;
    this.#buffer = buffer;
    if (host) {
      trackCpuBytes(host.byteLength);
      cpuRegistry.register(this, host.byteLength, this);
    }
  }

  /** A CPU tensor over `data` (no copy). float16/bfloat16 need `opts.dtype` and a Uint16Array. */
  static from(data: Float32Array | Int32Array | Uint16Array, shape: readonly number[], opts?: { dtype?: DType }): Tensor {
    if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint16Array))
      throw new TypeError(`Tensor.from: data must be a Float32Array, Int32Array or Uint16Array, got ${describe(data)}`);
    const o = checkOptions('Tensor.from', opts, ['dtype']);
    const dtype = o.dtype === undefined ? defaultDTypeOf(data) : (o.dtype as DType);
    if (dtype === undefined) throw new TypeError(`Tensor.from: a Uint16Array needs opts.dtype 'float16' or 'bfloat16'`);
    if (!DTYPES.includes(dtype)) throw new TypeError(`Tensor.from: opts.dtype must be one of ${DTYPES.join(', ')}, got ${describe(dtype)}`);
    if (!(data instanceof arrayTypeOf(dtype)))
      throw new TypeError(`Tensor.from: dtype '${dtype}' needs a ${arrayTypeOf(dtype).name}, got ${describe(data)}`);
    // Kernels read the array on worker threads: a buffer that can shrink meanwhile is unsafe.
    if ((data.buffer as { resizable?: boolean }).resizable)
      throw new TypeError('Tensor.from: data must not be backed by a resizable ArrayBuffer');
    // Validate and keep one snapshot: a getter or iterator on the caller's array cannot change it later.
    const dims: unknown = Array.isArray(shape) ? Array.from({ length: shape.length }, (_, i) => shape[i]) : shape;
    const count = checkShape('Tensor.from', dims);
    if (count !== data.length)
      throw new RangeError(`Tensor.from: shape ${shapeText(dims as number[])} holds ${count} elements, data has ${data.length}`);
    return new Tensor(dtype, dims as number[], -1, data);
  }

  /** @internal Whether `value` was made by this class (instanceof alone accepts forged prototypes). */
  static _isTensor(value: unknown): value is Tensor {
    return typeof value === 'object' && value !== null && #disposed in value;
  }

  /**
   * @internal A new uninitialised tensor on the device with ordinal `index` (-1: CPU). An
   * output shape beyond 32-bit indexing is a RangeError naming `fn`.
   */
  static _allocate(dtype: DType, shape: readonly number[], index: number, fn = 'Tensor'): Tensor {
    const count = checkShape(fn, shape);
    if (index < 0) return new Tensor(dtype, shape, -1, hostArray(fn, dtype, count));
    const buffer = native.DeviceBuffer.allocate(index, count * bytesPerElement(dtype));
    return new Tensor(dtype, shape, index, undefined, buffer);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** @internal -1 for the CPU, else the CUDA ordinal. */
  get _deviceIndex(): number {
    return this.#deviceIndex;
  }

  /** @internal The descriptor the addon reads. Throws DISPOSED for a disposed tensor. */
  _native(fn: string, name: string): NativeTensor {
    if (this.#disposed) throw new AttentionError('DISPOSED', `${fn}: ${name} has been disposed`);
    return { dtype: dtypeCode(this.dtype), shape: this.shape, device: this.#deviceIndex, host: this.#host, buffer: this.#buffer };
  }

  /** A copy on `device`, or this tensor if it is already there. */
  async to(device: Device): Promise<Tensor> {
    const index = deviceIndex(device);
    if (index === undefined) throw new TypeError(`Tensor.to: device must be 'cpu', 'cuda' or 'cuda:N', got ${describe(device)}`);
    const src = this._native('Tensor.to', 'the tensor');
    if (index === this.#deviceIndex) return this;
    return runNative('Tensor.to', undefined, () => Tensor._allocate(this.dtype, this.shape, index), (out, cancel) =>
      native.copyTensor(src, out._native('Tensor.to', 'out'), cancel),
    );
  }

  /** The values in host memory: the tensor's own array on the CPU, a copy from a device. */
  async data(): Promise<TensorData> {
    const src = this._native('Tensor.data', 'the tensor');
    if (this.#host) return this.#host;
    const host = await runNative('Tensor.data', undefined, () => Tensor._allocate(this.dtype, this.shape, -1), (out, cancel) =>
      native.copyTensor(src, out._native('Tensor.data', 'out'), cancel),
    );
    // The array now belongs to the caller: it no longer counts as a live tensor's memory.
    const values = host.#host!;
    host.dispose();
    return values;
  }

  /** Frees the tensor's memory now (device memory returns to the pool). Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#host) {
      trackCpuBytes(-this.#host.byteLength);
      cpuRegistry.unregister(this);
      this.#host = undefined;
    }
    this.#buffer?.release();
    this.#buffer = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${shapeText(this.shape)}, ${this.device}${this.#disposed ? ', disposed' : ''})`;
  }

  /** @internal How argument errors render a tensor. */
  [describeSelf](): string {
    return this.toString();
  }
}
