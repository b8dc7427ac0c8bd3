// Tests are TypeScript run through ts-jest as ESM (the code base is ESM only, like execa and chalk).
// Type checking is done once by `tsc -p tsconfig.test.json`, so ts-jest only transpiles.
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testEnvironment: 'node',
};

export default {
  // The first in-process run of the CLI in a file loads every verb (test/support/run.ts): about a
  // second on a quiet machine, more than Jest's default 5 s at load 25. A hung test still fails.
  testTimeout: 30_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
};
