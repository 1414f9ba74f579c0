// Entry point of the `tessera` command-line tool: `node src/cli/main.ts <command>`.
import { enableCompileCache } from 'node:module';

// Each command is a short process: caching the compiled modules (in the OS temporary directory;
// silently skipped where it cannot be written) halves its start-up time.
enableCompileCache?.();
const { run } = await import('./cli.ts');
const { commands } = await import('./commands.ts');
process.exitCode = await run(process.argv.slice(2), commands);
