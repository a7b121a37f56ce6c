import { errorMessage, withTimeout, type Database, type Logger } from '@ferry/common';
import { sql, type Kysely } from 'kysely';

/** First key of the monitor's advisory locks (two-int form, apart from single-bigint locks). */
export const MONITOR_LOCK_SPACE = 0x4d6f; // "Mo"
/** Second keys: the leader's session lock, and the lock each evaluation transaction takes. */
export const LEADER_LOCK = 1;
export const EVALUATION_LOCK = 2;

/** Options for {@link LeaderElection}. */
export interface LeaderElectionOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** How often a follower tries to take the lock and the leader checks its session (default 5 s). */
  checkIntervalMs?: number;
  onChange?: (leader: boolean) => void;
}

/**
 * Leader election with a PostgreSQL session advisory lock: every monitor instance
 * holds one pooled connection and tries `pg_try_advisory_lock`; the one that gets it
 * evaluates rules and sends notifications until it stops or its session ends, which
 * frees the lock for the next. No extra system, no expiry to tune: PostgreSQL frees the
 * lock the moment the leader's connection dies.
 */
export class LeaderElection {
  private leader = false;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private backendPid: number | null = null;
  /** Set when leadership ended because the database connection failed (not by stop()). */
  lostToOutageAt: number | null = null;

  constructor(private readonly options: LeaderElectionOptions) {}

  isLeader(): boolean {
    return this.leader;
  }

  /** The PostgreSQL backend holding the leader lock for this instance, while leader. */
  get pid(): number | null {
    return this.leader ? this.backendPid : null;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private get intervalMs(): number {
    return this.options.checkIntervalMs ?? 5000;
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.options.logger.info({ leader }, leader ? 'monitor is the leader: evaluating alerts' : 'monitor is no longer the leader');
    this.options.onChange?.(leader);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.options.db.connection().execute(async (conn) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
          this.backendPid = rows[0]?.pid ?? null;
          while (!this.stopped) {
            if (!this.leader) {
              const got = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${MONITOR_LOCK_SPACE}, ${LEADER_LOCK}) as ok`.execute(conn);
              if (got.rows[0]?.ok === true) {
                this.lostToOutageAt = null;
                this.setLeader(true);
              }
            } else {
              // A leader whose session died must stop: another instance may already lead. The limit
              // is generous so a busy database is not taken for a dead one.
              await withTimeout(sql`select 1`.execute(conn), Math.max(30_000, 3 * this.intervalMs), 'leader session check');
            }
            if (!this.stopped) await this.sleep(this.intervalMs);
          }
          if (this.leader) {
            await sql`select pg_advisory_unlock(${MONITOR_LOCK_SPACE}, ${LEADER_LOCK})`.execute(conn);
            this.setLeader(false);
          }
        });
      } catch (err) {
        if (this.leader) {
          this.lostToOutageAt = Date.now();
          this.options.logger.error({ err: errorMessage(err) }, 'leader lost its database session');
          this.setLeader(false);
        }
        if (!this.stopped) await this.sleep(this.intervalMs);
      }
    }
  }
}

/** True when the leader lock is held by the given backend: evaluation transactions check it before writing. */
export async function holdsLeaderLock(db: Kysely<Database>, pid: number): Promise<boolean> {
  const { rows } = await sql<{ held: boolean }>`
    select exists (select 1 from pg_locks where locktype = 'advisory' and classid = ${MONITOR_LOCK_SPACE} and objid = ${LEADER_LOCK} and objsubid = 2 and granted and pid = ${pid}) as held`.execute(db);
  return rows[0]?.held === true;
}
