import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core/errors.js';
import type { CheckResult } from './types.js';

// The JUnit XML report CI systems show: one testsuite "rdsctl check", one testcase per check.
// fail → <failure>, a check that could not evaluate → <error>, warn → <failure type="warn">
// unless warnings are tolerated (then it passes with the warning in <system-out>).

const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlEscape(s: string): string {
  return s
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

// A parser normalizes raw whitespace in attribute values to spaces; references survive.
const attr = (name: string, v: string | number): string => ` ${name}="${xmlEscape(String(v)).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;')}"`;
const secs = (ms: number): string => (ms / 1000).toFixed(3);

export interface JunitMeta {
  timestamp: Date;
  hostname: string;
  profile: string;
  warnOk: boolean;
}

export function renderJunit(results: readonly CheckResult[], m: JunitMeta): string {
  const failures = results.filter((r) => !r.error && (r.status === 'fail' || (r.status === 'warn' && !m.warnOk))).length;
  const errors = results.filter((r) => r.error).length;
  const time = secs(results.reduce((t, r) => Math.max(t, r.duration_ms), 0));
  const counts = attr('tests', results.length) + attr('failures', failures) + attr('errors', errors) + attr('skipped', 0) + attr('time', time);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attr('name', 'rdsctl check')}${counts}>`,
    `  <testsuite${attr('name', 'rdsctl check')}${counts}${attr('timestamp', m.timestamp.toISOString().slice(0, 19))}${attr('hostname', m.hostname)}>`,
    `    <properties><property${attr('name', 'profile')}${attr('value', m.profile)}/></properties>`,
  ];
  for (const r of results) {
    lines.push(`    <testcase${attr('classname', 'rdsctl.check')}${attr('name', r.name)}${attr('time', secs(r.duration_ms))}>`);
    const body = xmlEscape(`${r.reason}\n${JSON.stringify(r.details, null, 2)}`);
    if (r.error) lines.push(`      <error${attr('type', 'error')}${attr('message', r.reason)}>${body}</error>`);
    else if (r.status === 'fail') lines.push(`      <failure${attr('type', 'fail')}${attr('message', r.reason)}>${body}</failure>`);
    else if (r.status === 'warn' && !m.warnOk) lines.push(`      <failure${attr('type', 'warn')}${attr('message', r.reason)}>${body}</failure>`);
    lines.push(`      <system-out>${xmlEscape(`${r.status.toUpperCase()}: ${r.reason}`)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** Write next to the target, fsync, rename: a CI reader never sees half a report. */
export function writeFileAtomic(file: string, text: string): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, abs);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the temp file was never made (ENAMETOOLONG, ENOTDIR …): nothing to remove
    }
    throw new UsageError(`--junit ${file}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Before the checks run: can a report be written at `file`? A CI job with a bad path learns it at
 * once (usage error) instead of after minutes of checks with the report lost.
 */
export function checkReportTarget(file: string): void {
  const abs = path.resolve(file);
  let code: string | undefined;
  try {
    // the temp name adds ".<pid>.<8 hex>.tmp" and a leading dot to the base name
    if (Buffer.byteLength(path.basename(abs)) + 32 > 255) code = 'ENAMETOOLONG';
    else if (!fs.statSync(path.dirname(abs)).isDirectory()) code = 'ENOTDIR';
    else if (fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) code = 'EISDIR';
    else fs.accessSync(path.dirname(abs), fs.constants.W_OK);
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  if (code) throw new UsageError(`--junit ${file}: cannot write the report (${code})`);
}
