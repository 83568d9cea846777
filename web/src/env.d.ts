// esbuild bundles CSS imported for its side effect (main.ts); TypeScript only needs to know it exists.
declare module '*.css';
