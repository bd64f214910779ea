/// <reference types="vitest/config" />
// The console's build: Preact through Vite's own JSX transform (no Babel), served by the
// server under /ui/ from the embedded dist/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});
