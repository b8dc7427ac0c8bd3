import type { Command } from 'commander';
import type { Runner } from '../../core/command.js';
import { registerLockVerb } from './lock.js';

// `rdsctl nc unlock NC --reason R`: release an operator's hold on an NC (see lock.ts).

export function register(cmd: Command, run: Runner): void {
  registerLockVerb(cmd, run, false);
}
