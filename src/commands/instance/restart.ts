import type { Command } from 'commander';
import type { Runner } from '../../core/command.js';
import { registerPower } from '../shared/power-task.js';

// `rdsctl instance restart NAME [--role master|standby|both]`: the restart flow (src/lifecycle/power.ts) run in the foreground.

export function register(cmd: Command, run: Runner): void {
  registerPower('restart', cmd, run);
}
