import { fileURLToPath, URL } from 'node:url';
import type { ProxyOptions } from 'vite';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

/** Where `npm run dev:dashboard` forwards API calls (the service started with `npm run dev`). */
const apiTarget = process.env.ODDSWATCH_API_URL ?? 'http://127.0.0.1:3000';

const fromHere = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * Proxy entry that never buffers or compresses: `/api/events` is a long-lived text/event-stream.
 * No timeouts (the stream stays open for hours), `Accept-Encoding: identity` so nothing upstream gzips it,
 * and `X-Accel-Buffering: no` kept on the way back for anything in front of the dev server.
 */
const streamingProxy: ProxyOptions = {
  target: apiTarget,
  changeOrigin: false,
  timeout: 0,
  proxyTimeout: 0,
  configure(proxy) {
    proxy.on('proxyReq', (proxyReq, req) => {
      if ((req.headers.accept ?? '').includes('text/event-stream')) proxyReq.setHeader('accept-encoding', 'identity');
    });
    proxy.on('proxyRes', (proxyRes) => {
      if ((proxyRes.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        proxyRes.headers['cache-control'] = 'no-cache, no-transform';
        proxyRes.headers['x-accel-buffering'] = 'no';
      }
    });
  },
};

export default defineConfig({
  root: fromHere('.'),
  base: '/',
  plugins: [vue()],
  resolve: {
    alias: {
      '@contract': fromHere('../src/shared/contract.ts'),
      '@': fromHere('./src'),
    },
  },
  build: {
    outDir: fromHere('./dist'),
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': streamingProxy,
      '/healthz': { target: apiTarget },
      '/readyz': { target: apiTarget },
      '/metrics': { target: apiTarget },
    },
  },
});
