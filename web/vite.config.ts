/**
 * The dashboard's build: `vite build web` (root web/, output web/dist), served by `kwartier server` at /.
 * JSX is compiled by Vite's own transformer (oxc) for Preact; no Babel.
 */
import { defineConfig } from 'vite';

/** `KWARTIER_API_URL=http://127.0.0.1:8080 npm run dev:web`: the dev server proxies the API and WebSocket there. */
const api = process.env.KWARTIER_API_URL;

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs: the dashboard works at / and behind a reverse proxy's sub-path alike.
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 300,
  },
  server: {
    host: '127.0.0.1',
    proxy: api ? { '/api': api, '/ws': { target: api, ws: true } } : undefined,
  },
});
