import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { compareVersions, readCatalog } from '../../rds/catalog.js';

// `rdsctl instance classes`: what `instance create` accepts.

export interface Options {
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  addOutputOption(cmd)
    .addHelpText(
      'after',
      '\nThe defaults of `instance create` are marked: the newest version, the smallest class, the zone\n' +
        'with the most free memory.\n' +
        examples('rdsctl instance classes', 'rdsctl instance classes -o json | jq -r ".classes[].class_code"'),
    )
    .action(async (o: { output: string }) => {
      const opts: Options = { output: parseOutput(o.output) };
      return run((ctx) => classes(opts, ctx));
    });
}

export async function classes(opts: Options, ctx: Context): Promise<void> {
  const cat = await readCatalog(ctx.db('dbaas'));
  const newest = new Map<string, string>();
  for (const v of cat.versions.filter((x) => x.status === 'available')) {
    const cur = newest.get(v.engine);
    if (!cur || compareVersions(v.version, cur) > 0) newest.set(v.engine, v.version);
  }
  const smallest = new Map<string, string>();
  for (const c of cat.classes) if (!smallest.has(c.engine)) smallest.set(c.engine, c.class_code);
  const roomiest = [...cat.zones].filter((z) => z.hosts >= 2).sort((a, b) => b.free_mem_mb - a.free_mem_mb)[0]?.zone;
  const json = {
    versions: cat.versions.map((v) => ({ engine: v.engine, version: v.version, minor_version: v.minor_version, status: v.status, default: newest.get(v.engine) === v.version })),
    classes: cat.classes.map((c) => ({ class_code: c.class_code, engine: c.engine, cpu: c.cpu, mem_mb: c.mem_mb, max_connections: c.max_connections, max_iops: c.max_iops, default: smallest.get(c.engine) === c.class_code })),
    storage_types: cat.storageTypes.map((s) => ({ name: s.name, min_gb: s.min_gb, max_gb: s.max_gb, step_gb: s.step_gb, description: s.description })),
    zones: cat.zones.map((z) => ({ zone: z.zone, hosts: Number(z.hosts), free_cpu: Number(z.free_cpu), free_mem_mb: Number(z.free_mem_mb), free_disk_gb: Number(z.free_disk_gb), default: z.zone === roomiest })),
  };
  const mark = (d: boolean): string => (d ? '*' : '-');
  printSections(
    ctx.io,
    opts.output,
    [
      { title: 'Engines and versions', table: { headers: ['ENGINE', 'VERSION', 'MINOR', 'STATUS', 'DEFAULT'], rows: json.versions.map((v) => [v.engine, v.version, v.minor_version, v.status, mark(v.default)]) } },
      { title: 'Classes', table: { headers: ['CLASS', 'ENGINE', 'CPU', 'MEM MB', 'CONNECTIONS', 'IOPS', 'DEFAULT'], rows: json.classes.map((c) => [c.class_code, c.engine, c.cpu, c.mem_mb, c.max_connections, c.max_iops, mark(c.default)]) } },
      { title: 'Storage types', table: { headers: ['TYPE', 'MIN GB', 'MAX GB', 'STEP GB', 'DESCRIPTION'], rows: json.storage_types.map((s) => [s.name, s.min_gb, s.max_gb, s.step_gb, s.description]) } },
      { title: 'Zones with RDS hosts', table: { headers: ['ZONE', 'HOSTS', 'FREE CPU', 'FREE MEM MB', 'FREE DISK GB', 'DEFAULT'], rows: json.zones.map((z) => [z.zone, z.hosts, z.free_cpu, z.free_mem_mb, z.free_disk_gb, mark(z.default)]) } },
    ],
    json,
  );
}
