import { connect } from '@nats-io/transport-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from './certs.js';
import { refusal } from './checks.js';
import { connectAs, copyNatsConfig, startFerryNats, type FerryNats, type NatsConfigCopy } from './nats-server.js';
import { command } from './samples.js';

let dir: string;
let pki: TestPki;
let config: NatsConfigCopy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-deploy-tls-'));
  pki = await makePki(dir);
  config = await copyNatsConfig();
});

afterAll(async () => {
  await config?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('NATS over TLS (NATS_SERVER_TLS_* for start.sh, NATS_TLS_* for the services)', () => {
  let nats: FerryNats;
  beforeAll(async () => {
    nats = await startFerryNats({ dir: config.dir, env: { ...config.passwords, NATS_SERVER_TLS_CERT: pki.serverCert, NATS_SERVER_TLS_KEY: pki.serverKey }, scheme: 'tls' });
  });
  afterAll(() => nats?.stop());

  it('services that trust the CA connect and work', async () => {
    const monitor = await connectAs(nats.url, 'monitor', config.userPasswords.monitor!, { NATS_TLS_CA: pki.ca });
    const gateway = await connectAs(nats.url, 'gateway', config.userPasswords.gateway!, { NATS_TLS_CA: pki.ca });
    try {
      await monitor.ensureStreams();
      await gateway.publish('command', command('backup') as never);
      expect(monitor.nc.info?.tls_required).toBe(true);
    } finally {
      await Promise.all([monitor.close(), gateway.close()]);
    }
  });

  it('a client that does not trust the CA is refused, and plaintext is impossible', async () => {
    expect(await refusal(connectAs(nats.url, 'monitor', config.userPasswords.monitor!, { NATS_TLS_CA: pki.otherCa }))).toMatch(/certificate|self.signed|verify/i);
    expect(await refusal(connectAs(nats.url, 'monitor', config.userPasswords.monitor!))).toMatch(/certificate|self.signed|verify/i);
    expect(await refusal(connectAs(nats.url.replace('tls://', 'nats://'), 'monitor', config.userPasswords.monitor!))).toMatch(/certificate|self.signed|verify/i);
  });

  it('NATS_TLS_CERT without NATS_TLS_KEY is a mistake named at start', async () => {
    expect(await refusal(connectAs(nats.url, 'monitor', config.userPasswords.monitor!, { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert }))).toContain(
      'NATS_TLS_CERT and NATS_TLS_KEY go together',
    );
  });
});

describe('NATS with client certificates (NATS_SERVER_TLS_CA set)', () => {
  let nats: FerryNats;
  beforeAll(async () => {
    nats = await startFerryNats({
      dir: config.dir,
      env: { ...config.passwords, NATS_SERVER_TLS_CERT: pki.serverCert, NATS_SERVER_TLS_KEY: pki.serverKey, NATS_SERVER_TLS_CA: pki.ca },
      scheme: 'tls',
    });
  });
  afterAll(() => nats?.stop());

  it('needs a client certificate signed by the CA, besides the password', async () => {
    // Without a certificate the server drops the connection after the handshake; a short
    // connect timeout keeps the test quick (services keep nats.js's 20 s).
    const bare = connect({ servers: nats.url, user: 'uploader', pass: config.userPasswords.uploader!, inboxPrefix: '_INBOX_uploader', tls: { caFile: pki.ca }, timeout: 2000, reconnect: false });
    expect(await refusal(bare)).not.toBe('it was allowed');
    const uploader = await connectAs(nats.url, 'uploader', config.userPasswords.uploader!, { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey });
    try {
      // A JetStream request ($JS.API.INFO) answered over the certificate-authenticated link.
      expect((await uploader.jsm.getAccountInfo()).streams).toBe(0);
    } finally {
      await uploader.close();
    }
    expect(await refusal(connectAs(nats.url, 'uploader', 'pwrong0password00000', { NATS_TLS_CA: pki.ca, NATS_TLS_CERT: pki.clientCert, NATS_TLS_KEY: pki.clientKey }))).toMatch(
      /authorization/i,
    );
  });
});
