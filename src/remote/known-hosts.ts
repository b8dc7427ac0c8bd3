import fs from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';

// OpenSSH known_hosts, read once per pool and looked up per host without per-host I/O.
// Line format: [@marker] hostpatterns keytype base64key [comment]
//   hostpatterns: comma list of names, `[addr]:port` for ports other than 22, `*`/`?` wildcards,
//                 `!pattern` negation, or one hashed name `|1|base64(salt)|base64(hmac-sha1)`.
//   markers: @revoked (the key is refused for the matching hosts), @cert-authority (a CA key;
//            ssh2 does not do host certificates, so these never vouch for a plain key).

export type HostKeyCheck =
  | { status: 'ok' }
  | { status: 'unknown' }
  /** A different key is on record for this host: possibly a man in the middle. */
  | { status: 'changed'; line: number }
  | { status: 'revoked'; line: number };

interface Entry {
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  keyType: string;
  /** base64 of the key blob, the form both the file and the wire use. */
  key: string;
  hashed?: { salt: Buffer; hash: Buffer };
  patterns?: Array<{ negated: boolean; literal?: string; regex?: RegExp }>;
}

/** The name a host is recorded under: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type inside an SSH wire-format key blob ("ssh-ed25519", "ssh-rsa", ...). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len ? blob.toString('latin1', 4, 4 + len) : '';
}

export class KnownHosts {
  readonly file: string;
  private readonly byLiteral = new Map<string, Entry[]>();
  private readonly wildcard: Entry[] = [];
  private readonly hashed: Entry[] = [];
  private readonly revokedByKey = new Map<string, Entry[]>();
  private lines = 0;
  private endsWithNewline = true;

  constructor(file: string, text = '') {
    this.file = file;
    for (const raw of text.split('\n')) this.addLine(raw);
    this.endsWithNewline = text === '' || text.endsWith('\n');
  }

  /** A missing file is an empty one: the first --accept-new creates it. */
  static load(file: string): KnownHosts {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return new KnownHosts(file, text);
  }

  /** Verify a presented host key (wire blob) against the records for host:port. */
  check(host: string, port: number, blob: Buffer): HostKeyCheck {
    const name = knownHostsName(host, port).toLowerCase();
    const key = blob.toString('base64');
    for (const e of this.revokedByKey.get(key) ?? []) if (matches(e, name)) return { status: 'revoked', line: e.line };
    let other: Entry | undefined;
    // Cheapest sources first; a matching key anywhere wins, as in OpenSSH, so the HMACs over
    // hashed lines are only computed when the plain lines did not already vouch for the key.
    for (const source of [this.byLiteral.get(name) ?? [], this.wildcard, this.hashed]) {
      for (const e of source) {
        if (e.marker !== null || !matches(e, name)) continue;
        if (e.key === key) return { status: 'ok' };
        other ??= e;
      }
    }
    return other ? { status: 'changed', line: other.line } : { status: 'unknown' };
  }

  /** Key types on record for host:port, so the handshake can ask for a key that can be checked. */
  keyTypes(host: string, port: number): string[] {
    const name = knownHostsName(host, port).toLowerCase();
    const out = new Set<string>();
    for (const source of [this.byLiteral.get(name) ?? [], this.wildcard, this.hashed]) {
      for (const e of source) if (e.marker === null && matches(e, name)) out.add(e.keyType);
    }
    return [...out];
  }

  /** Record a key for host:port (plain, not hashed) in the file and in memory. */
  append(host: string, port: number, blob: Buffer): string {
    const line = `${knownHostsName(host, port)} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(this.file, `${this.endsWithNewline ? '' : '\n'}${line}\n`, { mode: 0o600 });
    this.endsWithNewline = true;
    this.addLine(line);
    return line;
  }

  private addLine(raw: string): void {
    const lineNo = ++this.lines;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const fields = text.split(/\s+/);
    let marker: Entry['marker'] = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key || !/^[A-Za-z0-9+/]+=*$/.test(key)) return;
    const entry: Entry = { line: lineNo, marker, keyType, key };
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) return;
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
      this.hashed.push(entry);
    } else {
      entry.patterns = hosts.split(',').filter(Boolean).map((p) => {
        const negated = p.startsWith('!');
        const body = (negated ? p.slice(1) : p).toLowerCase();
        return /[*?]/.test(body) ? { negated, regex: globToRegex(body) } : { negated, literal: body };
      });
      const positives = entry.patterns.filter((p) => !p.negated);
      if (positives.length > 0 && positives.every((p) => p.literal !== undefined)) {
        for (const p of positives) {
          const list = this.byLiteral.get(p.literal!) ?? [];
          list.push(entry);
          this.byLiteral.set(p.literal!, list);
        }
      } else {
        this.wildcard.push(entry);
      }
    }
    if (marker === 'revoked') {
      const list = this.revokedByKey.get(key) ?? [];
      list.push(entry);
      this.revokedByKey.set(key, list);
    }
  }
}

function matches(e: Entry, name: string): boolean {
  if (e.hashed) {
    const h = createHmac('sha1', e.hashed.salt).update(name).digest();
    return h.equals(e.hashed.hash);
  }
  let positive = false;
  for (const p of e.patterns!) {
    const hit = p.literal !== undefined ? p.literal === name : p.regex!.test(name);
    if (hit && p.negated) return false;
    if (hit) positive = true;
  }
  return positive;
}

function globToRegex(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
