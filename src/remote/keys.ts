import { generateKeyPairSync, randomBytes } from 'node:crypto';

// New SSH key pairs in OpenSSH's own formats (what `ssh-keygen -t ed25519 -N ''` writes): the
// private key as an unencrypted "OPENSSH PRIVATE KEY" (openssh-key-v1, PROTOCOL.key in OpenSSH),
// the public key as an authorized_keys line. Made in process: the lab makes one per host, and
// an ssh-keygen start per key cost seconds on a loaded machine. Written here rather than with
// ssh2's generateKeyPairSync, which drops a leading zero byte of the public key (about one key
// in 256 comes out 31 bytes long, and sshd refuses it: "error in libcrypto").

export interface KeyPair {
  /** OpenSSH private key file text (write it with mode 0600). */
  private: string;
  /** `ssh-ed25519 AAAA… comment` and a newline */
  public: string;
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function newEd25519KeyPair(comment: string): KeyPair {
  const k = generateKeyPairSync('ed25519');
  // The DER encodings end with the raw 32-byte key (SPKI: the public key, PKCS#8: the seed).
  const pub = k.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const seed = k.privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(-32);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(pubBlob), sshString(priv)]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}\n`,
  };
}
