/**
 * Chooses the uploader's default part size and queue size: sends one file (512 MiB by
 * default) to a local S3 server (s3rver) with each combination and prints MiB/s and the
 * process's peak RSS growth. Run from the repository root after `npm run build`:
 *   npx tsx bench/uploader-parts.ts        (BENCH_PARTS_MIB=512, BENCH_DIR=tmp)
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { contentKey, hashFile } from '@ferry/common';
import { startS3 } from '@ferry/testkit/servers';
import { openZoneWriter } from '@ferry/uploader';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_PARTS_MIB ?? 512) * MiB;
const work = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'ferry-parts-'));
const s3 = await startS3({ dataDir: join(work, 's3') });
try {
  const file = join(work, 'file.bin');
  const handle = await open(file, 'w');
  for (let left = SIZE; left > 0; left -= 64 * MiB) await handle.write(randomBytes(Math.min(64 * MiB, left)));
  await handle.close();
  const { sha256, size } = await hashFile(file);
  const admin = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  console.log(`part size x queue, ${SIZE / MiB} MiB file to s3rver (one bucket per run):`);
  let run = 0;
  for (const partMb of [8, 16, 32]) {
    for (const queue of [2, 4, 8]) {
      const bucket = `parts-${run++}`;
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      const zone = { name: 'bench', kind: 's3' as const, endpoint: s3.endpoint, region: s3.region, bucket, prefix: '', forcePathStyle: true, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      const writer = openZoneWriter(zone, { partSizeBytes: partMb * MiB, queueSize: queue, checksums: 'sha256' });
      global.gc?.();
      const base = process.memoryUsage().rss;
      let peak = base;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const started = performance.now();
      await writer.store({ key: contentKey(sha256), sourcePath: file, size, sha256, metadata: {} });
      const ms = performance.now() - started;
      clearInterval(timer);
      writer.close();
      console.log(`  ${String(partMb).padStart(2)} MiB x ${queue}: ${(size / MiB / (ms / 1000)).toFixed(1).padStart(6)} MiB/s, RSS +${((peak - base) / MiB).toFixed(0)} MiB`);
    }
  }
  admin.destroy();
} finally {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
}
