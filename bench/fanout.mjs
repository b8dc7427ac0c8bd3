#!/usr/bin/env node
// Fan-out benchmark: `hostname` over N lab NCs at one concurrency with rdsctl go2nc, ClusterShell's
// clush and pssh (Debian parallel-ssh). Each tool gets a warm-up run, then --runs measured runs;
// the report shows median/min/max wall time and peak memory side by side.
//
// Memory is measured two ways, because the tools are built differently: clush and pssh start one
// ssh process per host in flight, rdsctl is one process. "tree RSS" is the peak of the summed RSS
// of the tool and all its descendants (sampled from /proc); "max RSS" is GNU time's largest single
// process. The fair comparison is tree RSS.
//
// Needs a lab with at least N NCs (every lab NC runs a real sshd):
//   rdsctl lab up --ncs 1000 --dir /tmp/bench-lab --name bench …
//   node bench/fanout.mjs --profile bench --hosts 1000 --concurrency 64
// Run on demand only; never part of the test pass/fail.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RDSCTL = path.join(ROOT, 'bin', 'rdsctl');

function parseArgs(argv) {
  const o = { hosts: 200, concurrency: 64, runs: 5, tools: 'rdsctl,clush,pssh', profile: undefined, config: undefined, timeout: 120 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--hosts') o.hosts = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--tools') o.tools = v();
    else if (a === '--profile') o.profile = v();
    else if (a === '--config') o.config = v();
    else if (a === '--timeout') o.timeout = Number(v());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/fanout.mjs [--profile NAME] [--config FILE] [--hosts N] [--concurrency C] [--runs R] [--tools rdsctl,clush,pssh]\n');
      process.exit(0);
    } else die(`unknown argument ${a}`);
  }
  for (const k of ['hosts', 'concurrency', 'runs', 'timeout']) if (!Number.isInteger(o[k]) || o[k] < 1) die(`--${k} must be a positive whole number`);
  return o;
}

function die(msg) {
  process.stderr.write(`bench/fanout: ${msg}\n`);
  process.exit(2);
}

function globalArgs(o) {
  return [...(o.config ? ['--config', o.config] : []), ...(o.profile ? ['--profile', o.profile] : [])];
}

function rdsctlJson(o, args) {
  return JSON.parse(execFileSync(RDSCTL, [...globalArgs(o), ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }));
}

function expandHome(p) {
  return p && p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

/** Sum of VmRSS (kB) of pid and every descendant, from /proc. */
function treeRssKb(rootPid) {
  const children = new Map();
  const rss = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let status;
    try {
      status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    rss.set(Number(name), kb);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop();
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

const HAVE_GNU_TIME = fs.existsSync('/usr/bin/time');

/** Run one command; wall ms, peak tree RSS kB, GNU time's max RSS kB (or null), exit code. */
function measure(cmd, args, env) {
  return new Promise((resolve) => {
    const timeFile = path.join(os.tmpdir(), `bench-fanout-time-${process.pid}-${Date.now()}`);
    const [file, argv] = HAVE_GNU_TIME ? ['/usr/bin/time', ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
    const t0 = process.hrtime.bigint();
    const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let errTail = '';
    child.stdout.on('data', (b) => {
      for (const c of b) if (c === 10) lines++;
    });
    child.stderr.on('data', (b) => (errTail = (errTail + b.toString()).slice(-2000)));
    let peak = 0;
    const sample = () => {
      try {
        peak = Math.max(peak, treeRssKb(child.pid));
      } catch {
        // a process vanished mid-walk: the next sample counts it or not
      }
    };
    const timer = setInterval(sample, 50);
    sample();
    child.on('close', (code) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let maxRss = null;
      if (HAVE_GNU_TIME) {
        try {
          const t = fs.readFileSync(timeFile, 'utf8');
          maxRss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)?.[1]);
          const exit = /Exit status: (\d+)/.exec(t);
          if (exit) code = Number(exit[1]);
        } catch {
          maxRss = null;
        }
        fs.rmSync(timeFile, { force: true });
      }
      resolve({ wallMs, treeKb: peak, maxRssKb: maxRss, code, lines, errTail });
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const profile = rdsctlJson(o, ['config', 'show', '-o', 'json']);
  const ncs = rdsctlJson(o, ['hyapi', 'list_nc']).data;
  if (ncs.length < o.hosts) die(`the lab has ${ncs.length} NCs, ${o.hosts} needed: rdsctl lab up --ncs ${o.hosts} (in a fresh --dir)`);
  const hosts = ncs.slice(0, o.hosts);
  const ports = new Set(hosts.map((n) => n.ssh_port));
  if (ports.size !== 1) die(`the NCs listen on several ports (${[...ports].join(', ')}); clush needs one`);
  const port = [...ports][0];
  const ssh = profile.ssh;
  const key = expandHome(ssh.identity_file);
  const kh = expandHome(ssh.known_hosts);
  const sshOpts = ['-p', String(port), ...(key ? ['-i', key] : []), ...(kh ? ['-o', `UserKnownHostsFile=${kh}`] : []), '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
  const ips = hosts.map((n) => n.ip);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fanout-'));
  const hostsFile = path.join(work, 'hosts');
  fs.writeFileSync(hostsFile, ips.map((ip) => `${ip}:${port}`).join('\n') + '\n');
  const env = { ...process.env, ...(o.config ? { RDSCTL_CONFIG: o.config } : {}), ...(o.profile ? { RDSCTL_PROFILE: o.profile } : {}) };

  const tools = {
    rdsctl: [RDSCTL, ['go2nc', ips.join(','), '--concurrency', String(o.concurrency), '--command-timeout', String(o.timeout), '--', 'hostname']],
    clush: ['clush', ['-f', String(o.concurrency), '-w', ips.join(','), '-l', ssh.user, '-o', sshOpts.join(' '), '-u', String(o.timeout), 'hostname']],
    pssh: ['parallel-ssh', ['-p', String(o.concurrency), '-h', hostsFile, '-l', ssh.user, '-x', sshOpts.filter((a, i) => a !== '-p' && sshOpts[i - 1] !== '-p').join(' '), '-t', String(o.timeout), '-i', 'hostname']],
  };
  const chosen = o.tools.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of chosen) if (!tools[t]) die(`unknown tool ${t} (valid: ${Object.keys(tools).join(', ')})`);

  process.stderr.write(`bench/fanout: ${o.hosts} hosts, concurrency ${o.concurrency}, ${o.runs} runs after a warm-up, ${os.cpus().length} CPUs, memory via ${HAVE_GNU_TIME ? '/usr/bin/time -v and /proc' : '/proc'}\n`);
  const rows = [];
  for (const name of chosen) {
    const [cmd, args] = tools[name];
    const warm = await measure(cmd, args, env);
    if (warm.code !== 0) process.stderr.write(`bench/fanout: ${name} warm-up exited ${warm.code}: ${warm.errTail.trim().split('\n').slice(-3).join(' | ')}\n`);
    const runs = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await measure(cmd, args, env);
      runs.push(r);
      const why = r.code === 0 ? '' : ` (${r.errTail.trim().split('\n').slice(-1)[0]})`;
      process.stderr.write(`  ${name} run ${i + 1}: ${(r.wallMs / 1000).toFixed(2)}s, tree RSS ${(r.treeKb / 1024).toFixed(0)} MB, exit ${r.code}${why}, ${r.lines} lines\n`);
    }
    rows.push({
      tool: name,
      median_s: median(runs.map((r) => r.wallMs)) / 1000,
      min_s: Math.min(...runs.map((r) => r.wallMs)) / 1000,
      max_s: Math.max(...runs.map((r) => r.wallMs)) / 1000,
      tree_rss_mb: Math.max(...runs.map((r) => r.treeKb)) / 1024,
      max_rss_mb: runs.every((r) => r.maxRssKb) ? Math.max(...runs.map((r) => r.maxRssKb)) / 1024 : null,
      failed_runs: runs.filter((r) => r.code !== 0).length,
      lines: median(runs.map((r) => r.lines)),
    });
  }
  fs.rmSync(work, { recursive: true, force: true });

  const header = ['tool', 'median wall s', 'min s', 'max s', 'peak tree RSS MB', 'max proc RSS MB', 'output lines', 'failed runs'];
  const table = rows.map((r) => [r.tool, r.median_s.toFixed(2), r.min_s.toFixed(2), r.max_s.toFixed(2), r.tree_rss_mb.toFixed(0), r.max_rss_mb === null ? '-' : r.max_rss_mb.toFixed(0), String(r.lines), String(r.failed_runs)]);
  const w = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  process.stdout.write(`fan-out of \`hostname\`: ${o.hosts} hosts, concurrency ${o.concurrency}, ${o.runs} runs\n${line(header)}\n${table.map(line).join('\n')}\n`);
  const mine = rows.find((r) => r.tool === 'rdsctl');
  const others = rows.filter((r) => r.tool !== 'rdsctl');
  if (mine && others.length) {
    const fastest = Math.min(...others.map((r) => r.median_s));
    process.stdout.write(`rdsctl / fastest other: ${(mine.median_s / fastest).toFixed(2)}x wall time (goal <= 0.80x); rdsctl peak ${mine.tree_rss_mb.toFixed(0)} MB (goal <= 150 MB at 1000 hosts)\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench/fanout: ${e.message}\n`);
  process.exit(1);
});
