import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { sharedLab, type TestLab } from '../support/lab.js';

// The completion scripts run by bash and zsh themselves (non-interactively), against bin/rdsctl
// and the shared lab's metadb through the name cache.

jest.setTimeout(60_000);

const BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin');
const cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-complete-'));
let lab: TestLab;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  lab = sharedLab();
  env = { ...lab.env, XDG_CACHE_HOME: cacheHome, PATH: `${BIN_DIR}:${process.env.PATH}` };
  // Fill the name cache the way a background refresh does.
  execFileSync(path.join(BIN_DIR, 'rdsctl'), ['completion', '--refresh'], { env });
});
afterAll(() => fs.rmSync(cacheHome, { recursive: true, force: true }));

function bash(words: string[]): string[] {
  const script = `source <(rdsctl completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
_rdsctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['--norc', '--noprofile', '-c', script], { env, encoding: 'utf8' }).split('\n').filter(Boolean);
}

function zsh(words: string[]): string[] {
  // compadd only works inside a completion widget: a stand-in prints what the script offers.
  const script = `compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -rl -- "$@"; }
compdef() { :; }
source <(rdsctl completion zsh)
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}
_rdsctl || true`;
  return execFileSync('zsh', ['-f', '-c', script], { env, encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe.each([
  ['bash', bash],
  ['zsh', zsh],
] as const)('%s', (_shell, complete) => {
  test('commands and subcommands', () => {
    expect(complete(['rdsctl', 'go2'])).toEqual(['go2nc', 'go2ncinfo', 'go2vm', 'go2vmlist', 'go2which']);
    expect(complete(['rdsctl', 'config', ''])).toEqual(expect.arrayContaining(['list', 'show', 'use', 'set']));
  });

  test('flags and flag choices', () => {
    expect(complete(['rdsctl', 'go2nc', '--sk'])).toEqual(['--skip-locked']);
    expect(complete(['rdsctl', 'go2nc', 'nc-a01', '-o', ''])).toEqual(['text', 'json']);
    expect(complete(['rdsctl', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  test('NC, VM and instance names from the metadb (through the cache)', () => {
    expect(complete(['rdsctl', 'go2nc', 'nc-a0'])).toEqual(expect.arrayContaining(['nc-a01', 'nc-a02']));
    const vms = complete(['rdsctl', 'go2vm', 'vm-']);
    expect(vms.length).toBeGreaterThan(0);
    expect(vms.every((v) => v.startsWith('vm-'))).toBe(true);
    const cached = JSON.parse(fs.readFileSync(path.join(cacheHome, 'rdsctl', fs.readdirSync(path.join(cacheHome, 'rdsctl')).find((f) => f.endsWith('.json'))!), 'utf8')) as { names: { instance?: string[] } };
    expect(complete(['rdsctl', 'instance', 'show', ''])).toEqual(cached.names.instance ?? []);
  });

  test('nothing after -- (the remote command is not rdsctl\'s)', () => {
    expect(complete(['rdsctl', 'go2nc', 'nc-a01', '--', 'up'])).toEqual([]);
  });
});

test('TAB never waits on the metadb: a stale cache answers at once and is refreshed in the background', async () => {
  const file = fs.readdirSync(path.join(cacheHome, 'rdsctl')).find((f) => f.endsWith('.json'))!;
  const full = path.join(cacheHome, 'rdsctl', file);
  const c = JSON.parse(fs.readFileSync(full, 'utf8')) as { at: number; names: { nc: string[] } };
  fs.writeFileSync(full, JSON.stringify({ at: 0, names: { nc: ['nc-stale01'] } }));
  const t0 = Date.now();
  expect(bash(['rdsctl', 'go2nc', 'nc-'])).toEqual(['nc-stale01']);
  expect(Date.now() - t0).toBeLessThan(15_000);
  // The background refresh brings the real names back.
  for (let i = 0; i < 100; i++) {
    const now = JSON.parse(fs.readFileSync(full, 'utf8')) as { at: number; names: { nc?: string[] } };
    if (now.at > 0) {
      expect(now.names.nc).toEqual(c.names.nc);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the background refresh did not rewrite the cache');
});
