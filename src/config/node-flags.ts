/**
 * The V8 flags Tessera's server runs with (`npm start`, the container image and the benchmark
 * start it with them; cluster workers inherit them). Tessera's live heap is small (about 30 MB
 * under load), but V8 grows the young generation with the allocation rate and keeps it: under a
 * steady load the server's RSS rose by about 60 MB in steps for minutes. A young generation of a
 * fixed 2 x 16 MB from the start keeps RSS flat once warmed up (the benchmark's soak measures it).
 */
export const NODE_FLAGS = ['--min-semi-space-size=16', '--max-semi-space-size=16'] as const;
