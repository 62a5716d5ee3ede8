#!/usr/bin/env node
// Entry point of the `tunai` command: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
const exitCode = await runCli(process.argv.slice(2));
// A command that failed may have left a half-started server (a worker, a database pool) behind: do not wait for it.
if (exitCode !== 0) process.exit(exitCode);
process.exitCode = exitCode;
