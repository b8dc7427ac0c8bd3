import type { Command } from 'commander';
import { examples, type Runner } from '../core/command.js';
import type { Context } from '../core/context.js';
import { addOutputOption, parseOutput, printRecords, type Column, type OutputFormat } from '../core/output.js';
import { findNc } from '../houyi/nc.js';
import { vmsOnNc, type Vm } from '../houyi/vm.js';

export interface Options {
  nc: string;
  output: OutputFormat;
}

/** The JSON record per VM (`-o json`): field names are a documented API. */
export interface VmListRecord {
  name: string;
  instance_id: string;
  status: string;
  vcpu: number;
  mem_mb: number;
  ip: string;
  image: string;
  ssh_port: number;
  vpc_id: string | null;
  nc: string;
}

const COLUMNS: Column<VmListRecord>[] = [
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

function record(v: Vm): VmListRecord {
  return { name: v.name, instance_id: v.instance_id, status: v.status, vcpu: v.vcpu, mem_mb: v.mem_mb, ip: v.ip, image: v.image, ssh_port: v.ssh_port, vpc_id: v.vpc_id, nc: v.nc_hostname };
}

export async function go2vmlist(opts: Options, ctx: Context): Promise<void> {
  const db = ctx.db('houyi');
  const nc = await findNc(db, opts.nc);
  printRecords(ctx.io, opts.output, COLUMNS, (await vmsOnNc(db, nc.id)).map(record));
}
