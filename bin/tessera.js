#!/usr/bin/env node
// Launcher for `npx tessera`: the CLI is TypeScript, run by Node's built-in type stripping.
if (process.features.typescript) {
  await import('../src/cli/main.ts');
} else {
  process.stderr.write(`tessera needs Node.js 22.18 or later (with type stripping); this is Node ${process.version}\n`);
  process.exitCode = 1;
}
