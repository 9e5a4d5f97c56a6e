import { fileURLToPath, URL } from 'node:url';
import { defineProject, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The `dashboard` vitest project (listed by path in the repository's vitest.config.ts).
 * Root is the repository root so that `include` and `npx vitest run --project dashboard` resolve from there;
 * the Vue plugin and the `@` / `@contract` aliases come from the dashboard's vite config.
 */
export default mergeConfig(
  viteConfig,
  defineProject({
    root: repoRoot,
    test: {
      name: 'dashboard',
      root: repoRoot,
      environment: 'happy-dom',
      include: ['dashboard/tests/**/*.test.ts'],
      setupFiles: ['dashboard/tests/setup.ts'],
      restoreMocks: true,
      unstubGlobals: true,
    },
  }),
);
