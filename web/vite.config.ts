// Builds the web UI that `lanspread serve` embeds (docs/ui.md). The project's CMake build runs
// `tsc --noEmit` and `vite build` in a copy of this folder inside the build directory and turns
// dist/ into a C++ table; `npm run dev` serves it here against a running daemon.
import { defineConfig } from 'vitest/config';

// The daemon to proxy to during development (`LANSPREAD_API=127.0.0.1:7878 npm run dev`).
const daemon = `http://${process.env.LANSPREAD_API ?? '127.0.0.1:7878'}`;

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything is a file of its own: no data: URIs, no inline scripts (the daemon's CSP
    // allows only 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      // The daemon refuses a foreign Origin, so the proxy presents the daemon's own.
      '/api': { target: daemon, changeOrigin: true, ws: true, headers: { origin: daemon } },
      '/login': { target: daemon, changeOrigin: true },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
