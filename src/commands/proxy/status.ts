import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import { addOutputOption, parseOutput } from '../../core/output.js';
import { nodeStatus, parseStatusFlags } from '../../slb/status.js';

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .option('--cluster <name>', 'only proxies of this SLB cluster')
    .option('--status <list>', 'only nodes in these states (comma list of online, offline, maintain)')
    .option('--live', 'also TCP-connect to each node\'s service port and mark where the metadb and reality disagree')
    .option('--timeout <sec>', 'connect timeout per node for --live', '2')
    .option('--concurrency <n>', 'nodes probed at once for --live', '32')
    .addHelpText(
      'after',
      '\nExit status: 0 when every listed node is online (and, with --live, answering); 4 otherwise.\n' +
        examples('rdsctl proxy status', 'rdsctl proxy status --cluster slb-hza-01 --live', 'rdsctl proxy status --status offline,maintain -o json'),
    )
    .action(async (o: { output: string; cluster?: string; status?: string; live?: boolean; timeout: string; concurrency: string }) =>
      run((ctx) => nodeStatus(ctx, 'proxy', { output: parseOutput(o.output), ...parseStatusFlags(o) })),
    );
}
