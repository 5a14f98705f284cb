import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores on CI: keep parallelism modest so real-component tests (PostgreSQL, Mosquitto) stay calm.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
