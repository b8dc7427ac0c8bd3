import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { addOutputOption, parseOutput, printRecords, type Column, type OutputFormat } from '../core/output.js';
import { findNc } from '../houyi/nc.js';
import { vmRecord, type VmRecord } from '../houyi/records.js';
import { vmsOnNc } from '../houyi/vm.js';

export interface Options {
  nc: string;
  output: OutputFormat;
}

// -o json prints the one VM record (houyi/records.ts), as hyapi and go2which do.
const COLUMNS: Column<VmRecord>[] = [
  { header: 'NAME', value: (v) => v.name },
  { header: 'INSTANCE_ID', value: (v) => v.instance_id },
  { header: 'STATUS', value: (v) => v.status, tone: (v) => (v.status === 'running' ? 'ok' : v.status === 'stopped' ? 'warn' : undefined) },
  { header: 'VCPU', value: (v) => v.vcpu, align: 'right' },
  { header: 'MEM_MB', value: (v) => v.mem_mb, align: 'right' },
  { header: 'IP', value: (v) => v.ip },
  { header: 'IMAGE', value: (v) => v.image },
  { header: 'SSH_PORT', value: (v) => v.ssh_port, wide: true },
  { header: 'VPC_ID', value: (v) => v.vpc_id, wide: true },
];

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .argument('<nc>', 'NC hostname, IP or SN')
    .addHelpText('after', examples('rdsctl go2vmlist nc-a01', 'rdsctl go2vmlist nc-a01 -o json | jq -r \'.[] | select(.status != "running") | .name\''))
    .action(async (nc: string, o: { output: string }) => {
      const opts: Options = { nc, output: parseOutput(o.output) };
      return run((ctx) => go2vmlist(opts, ctx));
    });
}

export async function go2vmlist(opts: Options, ctx: Context): Promise<void> {
  const db = ctx.db('houyi');
  const nc = await findNc(db, opts.nc);
  printRecords(ctx.io, opts.output, COLUMNS, (await vmsOnNc(db, nc.id)).map(vmRecord));
}
