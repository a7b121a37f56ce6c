import { parseDuration } from '@ferry/common';
import { z } from 'zod';
import type { AlertStore } from '../adapters/alert-store.js';
import { intParam, once } from '../domain/list-query.js';
import { formatMatcher, LABEL_NAME, matchesEverything, parseMatcherText, regexProblem, type Matcher } from '@ferry/common/matchers';
import { sendBadRequest, sendError } from './errors.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { alertSchema, silenceSchema, itemsOf } from './schemas.js';

/** Longest silence: a forgotten one hides an outage, so a year is plenty. */
export const MAX_SILENCE_MS = 366 * 86_400_000;
const MAX_MATCHERS = 20;

const alertsQuery = z.strictObject({
  state: once.pipe(z.enum(['firing', 'resolved', 'all'], { error: 'must be firing, resolved or all' })).optional().meta({ description: 'Default firing.' }),
  limit: intParam(1, 500).optional().meta({ description: 'Page size, 1 to 500 (default 100).' }),
  cursor: once.regex(/^\d{1,18}$/, 'is not a cursor returned by this API (pass nextCursor unchanged)').transform(Number).optional().meta({ description: 'The nextCursor of the previous page.' }),
});

const silencesQuery = z.strictObject({
  state: once.pipe(z.enum(['active', 'expired', 'all'], { error: 'must be active, expired or all' })).optional().meta({ description: 'active (default): in force or to come.' }),
  limit: intParam(1, 500).optional().meta({ description: '1 to 500 (default 200).' }),
});

const matcherObject = z.strictObject({
  name: z.string().regex(LABEL_NAME, 'must be a label name: a letter or _, then letters, digits or _'),
  value: z.string().max(1000, 'must be at most 1000 characters'),
  isRegex: z.boolean().default(false),
  isEqual: z.boolean().default(true),
});

const matcherInput = z.union([z.string().max(1100), matcherObject]).transform((m, ctx): Matcher => {
  const matcher = typeof m === 'string' ? parseMatcherText(m) : m;
  if (typeof matcher === 'string') {
    ctx.addIssue({ code: 'custom', message: matcher });
    return z.NEVER;
  }
  if (matcher.isRegex) {
    const problem = regexProblem(matcher.value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${formatMatcher(matcher)}: the value ${problem}` });
  }
  return matcher;
});

const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset, such as 2025-01-31T12:00:00Z' });

/** A duration such as `2h`, `30m`, `1d` (see the config's format), or milliseconds as a number. */
const durationInput = z.union([
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/i, 'must be a duration such as 30m, 2h or 7d').transform((v) => parseDuration(v)),
  z.number().int('must be whole milliseconds').positive('must be positive'),
]);

/** The body of `POST /silences`, as validated and as documented. */
export const newSilenceBody = z
  .strictObject({
    matchers: z
      .array(matcherInput, { error: 'must be a list of matchers' })
      .min(1, 'needs at least one matcher')
      .max(MAX_MATCHERS, `must have at most ${MAX_MATCHERS} matchers`)
      .meta({ description: 'Objects {name, value, isRegex?, isEqual?} or text such as alertname="disk_low", instrument=~"ms.*", severity!="info".' }),
    duration: durationInput.optional().meta({ description: 'How long from startsAt: "2h", "30m", "7d", or milliseconds. Give this or endsAt.' }),
    endsAt: isoTime.optional().meta({ description: 'When it ends. Give this or duration.' }),
    startsAt: isoTime.optional().meta({ description: 'When it starts (default now).' }),
    comment: z.string().trim().min(1, 'must say why (not empty)').max(1000, 'must be at most 1000 characters'),
  })
  .superRefine((b, ctx) => {
    if ((b.duration === undefined) === (b.endsAt === undefined)) ctx.addIssue({ code: 'custom', path: ['duration'], message: 'give exactly one of duration and endsAt' });
    const matchers = b.matchers.filter((m): m is Matcher => typeof m === 'object' && m !== null && typeof m.name === 'string');
    if (matchers.length === b.matchers.length && matchers.length > 0 && matchesEverything(matchers)) {
      ctx.addIssue({ code: 'custom', path: ['matchers'], message: 'would silence every alert: at least one matcher must require a non-empty value' });
    }
  });

const silenceParams = z.strictObject({ id: z.string().min(1).max(100, 'must be at most 100 characters') });

/** `/alerts` and `/silences`. */
export function alertRoutes(deps: { alerts: AlertStore; now?: () => Date }): ApiRoute[] {
  const { alerts } = deps;
  const now = deps.now ?? (() => new Date());
  return [
    defineRoute({
      method: 'get',
      path: '/alerts',
      tag: 'alerts',
      summary: 'Alerts, newest first: firing (default), resolved or all',
      access: 'viewer',
      query: alertsQuery,
      responses: { 200: { description: 'One page of alerts.', schema: z.object({ items: z.array(alertSchema), nextCursor: z.string().nullable() }) } },
      async handle({ res, query }) {
        res.json(await alerts.alerts({ state: query.state ?? 'firing', limit: query.limit ?? 100, beforeId: query.cursor }));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/silences',
      tag: 'alerts',
      summary: 'Silences in force or to come (default), ended, or all',
      access: 'viewer',
      query: silencesQuery,
      responses: { 200: { description: 'Silences.', schema: itemsOf(silenceSchema) } },
      async handle({ res, query }) {
        res.json({ items: await alerts.silences(query.state ?? 'active', query.limit ?? 200) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/silences',
      tag: 'alerts',
      summary: 'Silence the alerts that match, for a while',
      description: "Alerts whose labels match every matcher are kept out of notifications from startsAt to the end; the monitor applies it at its next evaluation (the alert's mutedBy then names the silence).",
      access: 'operator',
      body: newSilenceBody,
      bodyRequired: true,
      responses: { 201: { description: 'The silence.', schema: silenceSchema } },
      async handle({ res, body, principal }) {
        const at = now();
        const startsAt = body.startsAt ? new Date(body.startsAt) : at;
        const endsAt = body.endsAt ? new Date(body.endsAt) : new Date(startsAt.getTime() + (body.duration ?? 0));
        const problem =
          endsAt.getTime() <= at.getTime()
            ? 'the silence would end before now'
            : endsAt.getTime() <= startsAt.getTime()
              ? 'the silence must end after it starts'
              : endsAt.getTime() - startsAt.getTime() > MAX_SILENCE_MS
                ? 'a silence may last at most 366 days'
                : undefined;
        if (problem) {
          sendBadRequest(res, [{ param: body.endsAt ? 'endsAt' : 'duration', message: problem }]);
          return;
        }
        const silence = await alerts.createSilence({ matchers: body.matchers, startsAt, endsAt, createdBy: principal?.name ?? 'unknown', comment: body.comment });
        res.status(201).json(silence);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/silences/:id',
      tag: 'alerts',
      summary: 'End a silence now',
      description: 'Answers 204 also when it had ended already.',
      access: 'operator',
      params: silenceParams,
      responses: { 204: { description: 'The silence has ended.' }, 404: { description: 'No such silence.' } },
      async handle({ res, params }) {
        const outcome = await alerts.expireSilence(params.id);
        if (outcome === 'not-found') {
          sendError(res, 404, { error: 'not_found', message: `no silence with id ${params.id}` });
          return;
        }
        res.status(204).end();
      },
    }),
  ];
}
