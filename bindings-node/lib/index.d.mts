//! Type declarations of the ESM entry point: the same as the CommonJS one.
export * from './index.js';
export { default } from './index.js';
