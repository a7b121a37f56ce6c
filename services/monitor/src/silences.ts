import { PermanentError, type Database } from '@ferry/common';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { formatMatcher, matchesEverything, parseMatcher, type Matcher } from '@ferry/common/matchers';

/** What {@link createSilence} needs. Matchers are objects or text such as `instrument="ms1"`. */
export interface NewSilence {
  matchers: readonly (Matcher | string)[];
  /** Default: now. */
  startsAt?: Date;
  endsAt: Date;
  createdBy: string;
  comment?: string;
  /** Replaced in tests. */
  now?: () => number;
}

/** A silence as stored. */
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

/**
 * Stores a silence: alerts whose labels match every matcher are kept out of
 * notifications from `startsAt` to `endsAt`. The alert engine reads silences at each
 * evaluation, so this takes effect at the next one.
 */
export async function createSilence(db: Kysely<Database>, input: NewSilence): Promise<Silence> {
  const now = new Date((input.now ?? Date.now)());
  const matchers = input.matchers.map((m) => (typeof m === 'string' ? parseMatcher(m) : { ...m }));
  if (matchers.length === 0) throw new PermanentError('a silence needs at least one matcher');
  for (const m of matchers) parseMatcher(formatMatcher(m)); // validates names and regexes given as objects
  if (matchesEverything(matchers)) {
    throw new PermanentError('a silence must match something specific: at least one matcher must require a non-empty value');
  }
  const startsAt = input.startsAt ?? now;
  if (input.endsAt.getTime() <= startsAt.getTime()) throw new PermanentError('a silence must end after it starts');
  const silence: Silence = { id: randomUUID(), matchers, startsAt, endsAt: input.endsAt, createdBy: input.createdBy, comment: input.comment ?? '' };
  await db
    .insertInto('silences')
    .values({
      id: silence.id,
      matchers: JSON.stringify(matchers),
      starts_at: startsAt,
      ends_at: input.endsAt,
      created_by: silence.createdBy,
      comment: silence.comment,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return silence;
}

/** Ends a silence now (a silence that already ended stays as it was). Returns false when no such silence is in force or to come. */
export async function expireSilence(db: Kysely<Database>, id: string, now: () => number = Date.now): Promise<boolean> {
  const at = new Date(now());
  const result = await db
    .updateTable('silences')
    .set((eb) => ({ ends_at: at, updated_at: at, starts_at: eb.fn('least', [eb.ref('starts_at'), eb.val(at)]) }))
    .where('id', '=', id)
    .where('ends_at', '>', at)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Silences in force or to come, soonest ending first. */
export async function listSilences(db: Kysely<Database>, now: () => number = Date.now): Promise<Silence[]> {
  const rows = await db.selectFrom('silences').selectAll().where('ends_at', '>', new Date(now())).orderBy('ends_at').execute();
  return rows.map((r) => ({ id: r.id, matchers: r.matchers, startsAt: r.starts_at, endsAt: r.ends_at, createdBy: r.created_by, comment: r.comment }));
}
