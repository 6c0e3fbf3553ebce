/** Element types of tensors; float16 and bfloat16 are raw bits in a Uint16Array. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'int32';
export type FloatDType = 'float32' | 'float16' | 'bfloat16';
export type TensorData = Float32Array | Int32Array | Uint16Array;

/** @internal */
export const DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int32'];

/** @internal Native dtype codes, in the order of native/kernels/common.h. */
export function dtypeCode(dtype: DType): 0 | 1 | 2 | 3 {
  return DTYPES.indexOf(dtype) as 0 | 1 | 2 | 3;
}

/** @internal */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
}

/** @internal The typed array class that holds `dtype`'s values. */
export function arrayTypeOf(dtype: DType): Float32ArrayConstructor | Int32ArrayConstructor | Uint16ArrayConstructor {
  return dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : Uint16Array;
}

/** @internal The dtype a typed array stands for when none is given. */
export function defaultDTypeOf(data: TensorData): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return undefined;
}
