// Entry point of the `tessera` command-line tool: `node src/cli/main.ts <command>`.
import { run } from './cli.ts';
import { commands } from './commands.ts';

process.exitCode = await run(process.argv.slice(2), commands);
