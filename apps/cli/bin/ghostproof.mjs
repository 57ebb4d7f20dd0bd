#!/usr/bin/env node
// The `ghostproof` command. The sources are TypeScript run through tsx (no build step);
// the process's exit code is whatever the command returns.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  // Created on first use only: an unused stdin must not keep the process alive.
  get stdin() {
    return process.stdin;
  },
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
