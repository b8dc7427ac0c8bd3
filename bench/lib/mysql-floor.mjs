// The floor under every metadb command: node, mysql2 (loaded with rdsctl's own code cache), one
// connection and one indexed SELECT, the row printed. Nothing of rdsctl's CLI. The lookup case shows
// it beside go2which, so the table says how much of a lookup is this floor.
//
//   RDSCTL_CONFIG=… node bench/lib/mysql-floor.mjs VM_NAME

import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths.mjs';

const { enableCompileCache } = await import(path.join(ROOT, 'dist', 'core', 'compile-cache.js'));
enableCompileCache();
const { default: mysql } = await import('mysql2/promise');

const cfg = JSON.parse(fs.readFileSync(process.env.RDSCTL_CONFIG, 'utf8'));
const houyi = cfg.profiles.find((p) => p.name === cfg.current).databases.houyi;
const dsn = new URL(houyi.dsn);
const c = await mysql.createConnection({ host: dsn.hostname, port: Number(dsn.port), user: decodeURIComponent(dsn.username), password: houyi.password, database: dsn.pathname.slice(1) });
const [rows] = await c.query('SELECT name, status, ip FROM vm WHERE name = ?', [process.argv[2]]);
process.stdout.write(JSON.stringify(rows) + '\n');
await c.end();
