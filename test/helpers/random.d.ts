// Types of random.js.

export function rng(seed: number): () => number;
export function randn(n: number, seed: number, scale?: number): Float32Array;
export function uniformUnitVariance(n: number, seed: number): Float32Array;
