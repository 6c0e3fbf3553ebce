// Types of safetensors.js.

export const FIXTURE_DIR: string;

export interface Tensor {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype: 'float32' | 'int32';
}

export interface Fixture {
  name: string;
  kind: 'lsh' | 'local' | 'axial';
  config: Record<string, any>;
  tensors: Record<string, Tensor>;
}

export function readSafetensors(file: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> };
export function readFixture(file: string, dir?: string): Fixture;
export function fixturesOfKind(kind: Fixture['kind'], dir?: string): Fixture[];
