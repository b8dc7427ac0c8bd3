import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, redact, redactText } from '../../src/core/audit.js';

// Secrets typed into an audited command never reach the audit log; the rest of the command does.

describe('redactText', () => {
  test.each([
    ['mysql -uroot -pS3cret -h 127.0.0.1 -e "select 1"', 'mysql -uroot -p*** -h 127.0.0.1 -e "select 1"'],
    ["mysqldump -u app -p'x y' shop", 'mysqldump -u app -p*** shop'],
    ['mysql --password=S3cret -e 1', 'mysql --password=*** -e 1'],
    ['MYSQL_PWD=S3cret mysql -e 1', 'MYSQL_PWD=*** mysql -e 1'],
    ['DB_PASSWORD="a b" ./run', 'DB_PASSWORD=*** ./run'],
    ["CREATE USER 'a'@'%' IDENTIFIED BY 'S3cret'", "CREATE USER 'a'@'%' IDENTIFIED BY '***'"],
    ["CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='S3cret'", "CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='***'"],
    ["SET PASSWORD = PASSWORD('S3cret')", "SET PASSWORD = PASSWORD('***')"],
    ['printf "[client]\\npassword=S3cret\\n" > x.cnf', 'printf "[client]\\npassword=*** > x.cnf'],
    ['sshpass -p S3cret ssh h', 'sshpass -p *** ssh h'],
    ['curl https://u:S3cret@example.invalid/x', 'curl https://u:***@example.invalid/x'],
  ])('%j', (text, want) => {
    expect(redactText(text)).toBe(want);
    expect(redactText(text)).not.toContain('S3cret');
  });

  test.each(['uptime', 'mkdir -p /tmp/x', 'ssh -p 2222 h', "Access denied for user 'a'@'h' (using password: YES)", 'mysql -p', 'df -h'])('%j stays as it is', (text) => {
    expect(redactText(text)).toBe(text);
  });
});

test('redact masks secret-named fields at any depth and keeps the rest', () => {
  expect(redact({ command: 'uptime', account: { name: 'app', password: 'S3cret' }, list: [{ secret: 'x', fencing_token: 7 }], repl_password: 'y', when: new Date(0) })).toEqual({
    command: 'uptime',
    account: { name: 'app', password: '***' },
    list: [{ secret: '***', fencing_token: 7 }],
    repl_password: '***',
    when: new Date(0),
  });
});

test('the audit log holds the redacted intent, result and reason', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-audit-redact-'));
  try {
    const file = path.join(tmp, 'audit.jsonl');
    const log = new AuditLog(file, { user: 'bob', profile: 'p' }, () => new Date(), () => undefined);
    const intent = { command: 'go2nc', targets: ['nc-a01'], reason: 'rotate MYSQL_PWD=S3cret', detail: { command: 'mysql -pS3cret -e "select 1"' } };
    const id = await log.intent(intent);
    await log.result(id, { ok: false, exitCode: 5, detail: { error: "IDENTIFIED BY 'S3cret' failed" }, intent });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain('S3cret');
    expect(log.readLocal().map((r) => r.detail)).toEqual([{ command: 'mysql -p*** -e "select 1"' }, { error: "IDENTIFIED BY '***' failed" }]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
