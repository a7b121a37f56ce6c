#!/usr/bin/env node
import { runTokenCommand } from './token-command.js';

// The exit code is set rather than forced so buffered output is flushed first.
process.exitCode = await runTokenCommand(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
