import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';
import { releaseStartupMemory } from './config/node-flags.ts';

// Process entry. Node's compile cache is enabled before the server's modules load (run.ts), so a
// start after the first reads each module's type-stripped source and V8 bytecode from the cache
// instead of stripping and compiling it again: the stripper (a WebAssembly module) then never
// loads for them, which spares about 10 MB of the idle process and some start-up time. The cache
// lives in the installation's node_modules/.cache: whoever may write there may change the code
// already. NODE_COMPILE_CACHE chooses another directory (Node then caches this file too) and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory that cannot be written only means no cache.
enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/tessera', import.meta.url)));

await import('./run.ts');

// Listening (or, as a cluster primary, the workers forked): what starting up allocated is
// garbage, and the young generation it passed through is given back (config/node-flags.ts).
releaseStartupMemory();
