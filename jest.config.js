/** Unit tests of the frontend models (the spec files under src/__tests__), compiled by ts-jest to CommonJS, run in node. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'ES2018',
          lib: ['ES2020', 'DOM'],
          esModuleInterop: true,
          strict: true,
          skipLibCheck: true,
          jsx: 'react',
          resolveJsonModule: true, // the tag vectors shared with pytest (tests/fixtures/tag_vectors.json)
          types: ['jest']
        }
      }
    ]
  }
};
