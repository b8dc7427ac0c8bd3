import { sh } from '../remote/quote.js';
import type { HostLayout } from '../rds/layout.js';
import type { HostReading } from './metrics.js';

// What the monitor reads on an NC, for every instance of it at once: one command per NC per
// sample, over the ssh2 connection the pool keeps open (no local process, no new SSH login).
// Per instance: mysqld's CPU time and resident memory from /proc (the pid file's process, checked
// to be this instance's mysqld), the datadir's size and the binlogs' size (du, KiB).

export interface HostItem {
  instanceId: number;
  layout: HostLayout;
}

/**
 * One shell function, called once per instance with its paths as quoted arguments, so the command
 * stays small for an NC with many instances. The alive check is host-ops' aliveTest: the pid
 * file's process must be a mysqld started with this instance's my.cnf (a stale pid file may name
 * another process).
 */
const READ_ONE =
  'r() { i=$1; dd=$4; bb=$5; sz=$6; c=-; m=-; d=-; b=-; p=; { read -r p < "$2"; } 2>/dev/null; ' +
  // Builtins only (read, case, set, arithmetic) but for the one tr: a busy NC is read every round.
  `if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then case "$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" in *"--defaults-file=$3"*) ` +
  '{ read -r l < "/proc/$p/stat"; } 2>/dev/null && { l=${l##*) }; set -- $l; c=$((${12} + ${13})); }; ' +
  '{ while read -r k v u; do if [ "$k" = VmRSS: ]; then m=$v; break; fi; done < "/proc/$p/status"; } 2>/dev/null;; esac; fi; ' +
  'if [ "$sz" = 1 ]; then d=$(du -sk "$dd" 2>/dev/null | cut -f1); b=$(du -ck "$bb".[0-9]* 2>/dev/null | tail -n1 | cut -f1); fi; ' +
  'echo "I $i ${c:--} ${m:--} ${d:--} ${b:--}"; }';

/** Output: "T <clock ticks/s>", then per instance "I <id> <cpu ticks|-> <rss KiB|-> <data KiB|-> <binlog KiB|->". */
export function hostReadScript(items: HostItem[], o: { sizes?: boolean } = {}): string {
  const sizes = o.sizes ?? true ? 1 : 0;
  const calls = items.map((it) => sh`r ${it.instanceId} ${it.layout.pidFile} ${it.layout.mycnf} ${it.layout.dataDir} ${it.layout.binlogBase} ${sizes}`);
  return [READ_ONE, 't=$(getconf CLK_TCK 2>/dev/null || echo 100); echo "T $t"', ...calls].join('; ');
}

function kib(s: string | undefined): number | null {
  if (s === undefined || s === '-' || !/^\d+$/.test(s)) return null;
  return Number(s) * 1024;
}

/** Parse hostReadScript's output; instances missing from it are absent from the map. */
export function parseHostRead(out: string, at: number): Map<number, HostReading> {
  const res = new Map<number, HostReading>();
  let ticks = 100;
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'T' && /^\d+$/.test(f[1] ?? '')) ticks = Number(f[1]) || 100;
    if (f[0] !== 'I' || !/^\d+$/.test(f[1] ?? '')) continue;
    const cpu = f[2] !== undefined && /^\d+$/.test(f[2]) ? Number(f[2]) : null;
    res.set(Number(f[1]), { at, cpuTicks: cpu, clockTicksPerSec: ticks, memBytes: kib(f[3]), dataBytes: kib(f[4]), binlogBytes: kib(f[5]) });
  }
  return res;
}
