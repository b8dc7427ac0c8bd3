import type { Command } from 'commander';
import type { Runner } from '../../core/command.js';
import { registerTaskControl } from '../shared/task-control.js';
import { parseTaskId } from './show.js';

// `rdsctl task resume TASK_ID`: see commands/shared/task-control.ts (the same code as `instance step resume`).

export function register(cmd: Command, run: Runner): void {
  registerTaskControl(cmd, run, 'resume', parseTaskId);
}
