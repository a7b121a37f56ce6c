import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Files of a throw-away PKI made with openssl: a CA, a server and a client certificate. */
export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: trusting it must not be enough. */
  otherCa: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=Ferry test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

async function makeLeaf(dir: string, name: string, usage: 'serverAuth' | 'clientAuth'): Promise<void> {
  await openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${usage === 'serverAuth' ? 'localhost' : 'ferry-client'}`]);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${usage}`,
    ...(usage === 'serverAuth' ? ['subjectAltName=DNS:localhost,IP:127.0.0.1'] : []),
  ].join('\n'));
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext]);
}

/** Generates the PKI into `dir` with the machine's openssl. */
export async function makePki(dir: string): Promise<TestPki> {
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await makeLeaf(dir, 'server', 'serverAuth');
  await makeLeaf(dir, 'client', 'clientAuth');
  const f = (name: string) => join(dir, name);
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key'), otherCa: f('other-ca.crt') };
}
