import type { CommandSpec } from '../core/command.js';

// Every command rdsctl has: its words, one-line summary, the role it needs, and where it lives.
// `rdsctl --help` is built from this table; a verb's module loads only when it runs.
// Groups (config, lab, instance, …) get their summary from GROUPS.

export const GROUPS: Record<string, string> = {
  config: 'Profiles: which metadbs and SSH settings rdsctl uses',
  audit: 'The audit trail of every mutating command: who, when, targets, reason, result',
  lab: 'A local region on real MariaDB and OpenSSH for trying rdsctl and for tests',
};

export const COMMANDS: CommandSpec[] = [
  { path: ['audit', 'list'], summary: 'Show audit records (intent + result per command run)', role: 'read', load: () => import('./audit/list.js') },
  { path: ['audit', 'backfill'], summary: 'Copy local audit records missing from dbaas.ops_audit', role: 'operator', load: () => import('./audit/backfill.js') },
  { path: ['config', 'list'], summary: 'List profiles; * marks the active one', role: 'none', load: () => import('./config/list.js') },
  { path: ['config', 'show'], summary: 'Show a profile with secrets masked', role: 'none', load: () => import('./config/show.js') },
  { path: ['config', 'use'], summary: 'Make a profile the current one', role: 'none', load: () => import('./config/use.js') },
  { path: ['config', 'set'], summary: 'Set one key of a profile', role: 'none', load: () => import('./config/set.js') },
  { path: ['lab', 'up'], summary: 'Start the local lab region (MariaDB metadbs + one sshd per host) and make its profile current', role: 'none', load: () => import('./lab/up.js') },
  { path: ['lab', 'status'], summary: 'Probe every lab component: MariaDB and each host; exit 4 if anything is down', role: 'none', load: () => import('./lab/status.js') },
  { path: ['lab', 'down'], summary: 'Stop every process of the lab by pid; --purge also removes its files and profile', role: 'none', load: () => import('./lab/down.js') },
  { path: ['go2nc'], summary: 'Shell on an NC, or run a command on a node set of NCs (clush-style)', role: 'operator', load: () => import('./go2nc.js') },
  { path: ['go2ncinfo'], summary: 'Describe an NC: zone, cluster, capacity, VMs, RDS instances; --live adds uptime/load/disk', role: 'read', load: () => import('./go2ncinfo.js') },
  { path: ['go2vm'], summary: 'Shell on a VM (or run a command) through its NC as jump host', role: 'operator', load: () => import('./go2vm.js') },
  { path: ['go2vmlist'], summary: 'List the VMs on an NC', role: 'read', load: () => import('./go2vmlist.js') },
  { path: ['go2which'], summary: 'What a name is and where it lives: VM, NC, RDS instance, SLB node, Tianji machine', role: 'read', load: () => import('./go2which.js') },
  { path: ['hyapi'], summary: 'Houyi API actions (go2hyapi): detail_vm, list_vm, detail_nc, list_nc, start_vm, stop_vm, reboot_vm', role: 'read', load: () => import('./hyapi.js') },
];
