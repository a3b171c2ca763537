import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web console: built into dist/console, served by the hookflow server at `/` (src/http/console-routes.ts). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  // `npx vite --config console/vite.config.ts` during development: the API of a server on :8080.
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The editor and the charts are loaded on the pages that use them (see the lazy imports).
    chunkSizeWarningLimit: 600,
  },
});
