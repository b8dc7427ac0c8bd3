import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import { addOutputOption, parseOutput } from '../../core/output.js';
import { nodeStatus, parseStatusFlags } from '../../slb/status.js';

// `lb_node status` and `proxy status` are the same check over the two Xuanyuan tables (the seeds'
// two queries); one declaration of their flags keeps them from drifting apart.
export function registerSlbStatus(cmd: Command, run: Runner, kind: 'lb_node' | 'proxy'): void {
  const what = kind === 'lb_node' ? 'nodes' : 'proxies';
  addOutputOption(cmd)
    .option('--cluster <name>', `only ${what} of this SLB cluster`)
    .option('--status <list>', `only ${what} in these states (comma list of online, offline, maintain)`)
    .option('--live', 'also TCP-connect to each one\'s service port and mark where the metadb and reality disagree')
    .option('--timeout <sec>', 'connect timeout per node for --live', '2')
    .option('--concurrency <n>', `${what} probed at once for --live`, '32')
    .addHelpText(
      'after',
      `\nExit status: 0 when every listed ${kind} is online (and, with --live, answering); 4 otherwise.\n` +
        examples(`rdsctl ${kind} status`, `rdsctl ${kind} status --cluster slb-hza-01 --live`, `rdsctl ${kind} status --status offline,maintain -o json`),
    )
    .action(async (o: { output: string; cluster?: string; status?: string; live?: boolean; timeout: string; concurrency: string }) => {
      const opts = { output: parseOutput(o.output), ...parseStatusFlags(o) };
      return run((ctx) => nodeStatus(ctx, kind, opts));
    });
}
