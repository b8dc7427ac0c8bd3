import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { AuditLog, redactText } from '../../src/core/audit.js';
import { createIO } from '../../src/core/io.js';
import { jsonText, printRecords, printSections, termSafe } from '../../src/core/output.js';
import { workerLine } from '../../src/commands/worker.js';
import { reportLine } from '../../src/commands/shared/task-control.js';

// The operator-facing surface: printers never pass a terminal control through, the audit never
// keeps a password in any of the forms the review found, identity is the uid's passwd entry,
// and a password on the command line needs an explicit flag.

const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = ['\x1b]0;pwned\x07', '\x1b[2J\x1b[H', 'a\r\nforged  row', 'x\u202eevil', 'x\u2028y', '\x9b31m', 'tab\there', 'nul\0'];

function capture(): { io: ReturnType<typeof createIO>; text: () => string } {
  const out = new PassThrough();
  let t = '';
  out.on('data', (d: Buffer) => (t += d.toString()));
  return { io: createIO({ stdout: out, stderr: out, stdoutIsTTY: false, stderrIsTTY: false, env: {} }), text: () => t };
}

describe('printers escape control characters', () => {
  test('the worker line and the step-failed line of task runs: one line, no raw control character', () => {
    for (const v of HOSTILE) {
      const lines = [
        workerLine({ task_id: 7, status: 'failed', ran: 3, error: `step 4 do_x on nc-01: ${v}` }),
        reportLine(7, { status: 'failed', ran: 3, failed: { seq: 4, name: 'do_x', host: `nc-${v}`, error: `remote said ${v}`, exitCode: 8 } }, 'rm-a'),
        reportLine(7, { status: 'cancelled', ran: 3, cancelledBy: v }, `rm-${v}`),
        reportLine(7, { status: 'done', ran: 3 }, `rm-${v}`),
      ];
      for (const l of lines) {
        expect({ v, raw: TERMINAL_CONTROL.exec(l.slice(0, -1))?.[0] ?? null }).toEqual({ v, raw: null });
        expect(l.endsWith('\n') && l.indexOf('\n') === l.length - 1).toBe(true);
      }
    }
  });

  test('table, wide, tsv, json and sections: no raw control character, no forged line', () => {
    const rows = HOSTILE.map((v, i) => ({ id: i, name: v }));
    for (const format of ['table', 'wide', 'tsv', 'json'] as const) {
      const c = capture();
      printRecords(c.io, format, [{ header: 'ID', value: (r: { id: number }) => r.id }, { header: 'NAME', value: (r: { name: string }) => r.name }], rows);
      const text = c.text();
      expect({ format, raw: TERMINAL_CONTROL.exec(text.replace(/\t/g, ' '))?.[0] ?? null }).toEqual({ format, raw: null });
      if (format !== 'json') expect(text.trimEnd().split('\n')).toHaveLength(rows.length + 1);
      if (format === 'json') expect(JSON.parse(text)).toEqual(rows);
    }
    const c = capture();
    printSections(c.io, 'table', [{ title: 'VM \x1b[2J', fields: [['name', '\x1b]0;x\x07']], table: { headers: ['A'], rows: [['a\nb']] } }], {});
    expect(c.text()).not.toMatch(TERMINAL_CONTROL);
    expect(termSafe('a\x1b[31mb\nc\u202e')).toBe('a\\x1b[31mb\\nc\\u202e');
    expect(JSON.parse(jsonText({ v: '\x9b\u2028' }))).toEqual({ v: '\x9b\u2028' });
  });
});

describe('audit redaction parses the command words', () => {
  const S = 'S3cr3t-Pw9';
  const CORPUS = [
    `mysqladmin -u root password ${S}`,
    `mysqladmin -uroot -p${S} status`,
    `/usr/bin/mysqladmin --user=root password '${S}'`,
    `sudo -u mysql mysqladmin password "${S}"`,
    `mysql --pass=${S} -e 'select 1'`,
    `mysql --password ${S}`,
    `mysql -u root -p'${S}' db`,
    `mysql -e "CREATE USER 'a'@'%' IDENTIFIED BY \\"${S}\\""`,
    `mysql -e 'CREATE USER a IDENTIFIED BY "${S}"'`,
    `ALTER USER 'a'@'%' IDENTIFIED BY "${S}"`,
    `mysql -e "SET PASSWORD = \\"${S}\\""`,
    `SET PASSWORD = "${S}"`,
    `SET PASSWORD FOR 'a'@'%' = PASSWORD('${S}')`,
    `curl -u admin:${S} http://127.0.0.1/`,
    `curl --user "admin:${S}" http://x`,
    `curl -sS -uadmin:${S} http://x`,
    `curl -d '{"user":"a","password":"${S}"}' http://x`,
    `{"password":"${S}"}`,
    `{"db_password": "${S}", "x": 1}`,
    `redis-cli -a ${S} ping`,
    `redis-cli -h 127.0.0.1 --pass ${S} ping`,
    `MYSQL_PWD=${S} mysql -e 'select 1'`,
    `sshpass -p ${S} ssh x`,
    `ls; mysqladmin -u root password "${S}" && echo ok`,
    `wget --password=${S} http://x`,
  ];
  test.each(CORPUS)('%s', (cmd) => {
    const r = redactText(cmd);
    expect(r).not.toContain(S);
    expect(r).not.toContain('Pw9');
    expect(r).toContain('***');
  });
  test('ordinary options that look alike are left alone', () => {
    for (const c of ['ls -p /tmp', 'cp -p a b', 'ssh -p 22 host', 'grep password /etc/x', 'curl -u admin http://x']) expect(redactText(c)).toBe(c);
  });
  test('the local audit and the record copied to ops_audit hold no password', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-redact-'));
    try {
      const log = new AuditLog(path.join(dir, 'a.jsonl'), { user: 'u', profile: 'p' }, () => new Date(), () => undefined);
      for (const cmd of CORPUS) await log.intent({ command: 'go2nc', targets: ['nc-a01'], detail: { remote: cmd } });
      expect(fs.readFileSync(path.join(dir, 'a.jsonl'), 'utf8')).not.toContain(S);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('identity is the uid\'s passwd entry: a uid without one and USER=root is "uid:N", not root', () => {
  if (process.getuid?.() !== 0) return;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import { osIdentity } from ${JSON.stringify(path.resolve('dist/core/identity.js'))}; process.stdout.write(osIdentity());`], {
    uid: 54_321,
    gid: 54_321,
    env: { USER: 'root', LOGNAME: 'root', PATH: process.env.PATH },
    cwd: '/',
  }).toString();
  expect(out).toBe('uid:54321');
});
