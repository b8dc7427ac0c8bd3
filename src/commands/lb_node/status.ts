import type { Command } from 'commander';
import type { Runner } from '../../core/command.js';
import { registerSlbStatus } from '../shared/slb-status.js';

export function register(cmd: Command, run: Runner): void {
  registerSlbStatus(cmd, run, 'lb_node');
}
