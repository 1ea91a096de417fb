import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Renders are CPU-heavy and this machine has two cores: run test files one at a time.
    fileParallelism: false,
  },
});
