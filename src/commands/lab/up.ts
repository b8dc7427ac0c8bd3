import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { labUp } from '../../lab/lab.js';
import { FLEET } from '../../lab/fleet.js';
import { checkLabFlags, FLEET_DEFAULTS, LAB_DEFAULTS, LAB_FLAG_PARSERS as P, LAB_SCALES, LIMITS, type ParsedFlags } from '../../lab/params.js';

export interface Options {
  dir?: string;
  flags: ParsedFlags;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .option('--ncs <n>', `NCs (${LIMITS.ncs.min}-${LIMITS.ncs.max}; default ${LAB_DEFAULTS.ncs})`, P.ncs)
    .option('--vms <m>', `VMs (default ${LAB_DEFAULTS.vms})`, P.vms)
    .option('--dir <dir>', 'lab directory (default: the active profile\'s lab, else $XDG_DATA_HOME/rdsctl/lab)')
    .option('--name <profile>', `profile to write and make current (default ${LAB_DEFAULTS.name})`, P.name)
    .option('--port <port>', `MariaDB port on 127.0.0.1 (default ${LAB_DEFAULTS.port})`, P.port)
    .option('--net <127.X>', `loopback net of the lab's hosts (default ${LAB_DEFAULTS.net})`, P.net)
    .option('--ssh-port <port>', `SSH port of every lab host (default ${LAB_DEFAULTS.sshPort})`, P.sshPort)
    .option('--scale <scale>', `${LAB_SCALES.join('|')}: fleet adds a region of ${FLEET.ncs} NCs, ${FLEET.vms} VMs and ${FLEET.custins} RDS instances as metadb rows (default lab)`, P.scale)
    .addHelpText(
      'after',
      '\nStarts MariaDB with the six metadbs (dbaas, houyi, xuanyuan, tianji, pangu, vpc) and boots every\n' +
        'host as its own Linux namespaces (mount, pid, uts, ipc; production paths, its own host name, host\n' +
        'key and sshd; NCs at 127.X.1.N, VMs from 127.X.2.N, SLB nodes at 127.X.200/201.N). Needs root.\n' +
        'Writes the profile and makes it current. Idempotent: run again to make sure everything is up. Sizes are kept in\n' +
        '<dir>/lab.json; to change them, `lab down --purge` first.\n' +
        `With --scale fleet the first --ncs NCs (default ${FLEET_DEFAULTS.ncs}) are served and the rest of the fleet,\n` +
        'VMs included, is metadb rows only (for `npm run bench`); seeding takes about a minute.\n' +
        examples(
          'rdsctl lab up',
          'rdsctl lab up --ncs 200 --vms 800 --dir /tmp/big --net 127.88 --port 13307 --name big',
          'rdsctl lab up --scale fleet --dir /tmp/fleet --net 127.230 --port 23230 --ssh-port 22230 --name fleet',
        ),
    )
    .action(async (o: ParsedFlags & { dir?: string }) => {
      const { dir, ...flags } = o;
      const opts: Options = { dir, flags: checkLabFlags(flags) };
      return run((ctx) => up(opts, ctx));
    });
}

export async function up(opts: Options, ctx: Context): Promise<void> {
  const r = await labUp(ctx, opts.dir, opts.flags, (line) => ctx.io.err(`lab up: ${line}\n`));
  const p = r.params;
  const what = r.mariadbStarted || r.hostsStarted ? `started ${[r.mariadbStarted ? 'MariaDB' : '', r.hostsStarted ? `${r.hostsStarted} host${r.hostsStarted === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ')}` : 'already up';
  ctx.io.err(
    `lab up: ${what} in ${(r.ms / 1000).toFixed(1)}s — MariaDB 127.0.0.1:${p.port}, ${p.ncs} NCs and ${p.vms} VMs (${r.vmsRunning} running) on ${p.net}.*:${p.sshPort}, ` +
      `profile "${r.profile}" is current (${ctx.configPath}); lab dir ${p.dir}\n`,
  );
}
