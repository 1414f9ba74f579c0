#!/usr/bin/env node
// The server's launcher (`npm start`, the container image): src/main.ts, started from plain
// JavaScript. Node's compile cache is enabled here, before any TypeScript loads, so that a warm
// start reads main.ts itself from the cache too: Node then never loads its type stripper (a
// WebAssembly module, about 12 MB of the idle process), which `node src/main.ts` loads for
// main.ts alone. The same cache directory as main.ts's (its own call is then a no-op);
// NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE apply as there.
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/tessera', import.meta.url)));
await import('../src/main.ts');
