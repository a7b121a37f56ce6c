// Brings Ferry's database schema up to date as the tables' owner (ferry_monitor), then
// grants the other roles their writes (grants.sql). The Compose service `migrate` runs it
// before the monitor and the gateway start; by hand, from the repository or the image:
//   DATABASE_URL=postgres://ferry_monitor:…@db:5432/ferry node deploy/postgres/migrate.mjs
// It waits up to MIGRATE_WAIT (default 120s; ms, s or m) for the database to answer, so it
// can start together with PostgreSQL on another host.
import { createDatabase, migrateToLatest, parseDuration } from '@ferry/common';
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('migrate: DATABASE_URL is not set');
  process.exit(78);
}
const waitMs = parseDuration(process.env.MIGRATE_WAIT ?? '120s');
const db = createDatabase({ url, maxConnections: 1, applicationName: 'ferry-migrate' });
try {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await sql`select 1`.execute(db);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the database did not answer within ${waitMs} ms`, { cause: err });
      console.error(`migrate: waiting for the database (${err instanceof Error ? err.message : String(err)})`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  const applied = await migrateToLatest(db);
  console.log(applied.length > 0 ? `migrate: applied ${applied.join(', ')}` : 'migrate: the schema is up to date');
  await sql.raw(await readFile(new URL('grants.sql', import.meta.url), 'utf8')).execute(db);
  console.log('migrate: grants applied');
} catch (err) {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  console.error(`migrate: failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
