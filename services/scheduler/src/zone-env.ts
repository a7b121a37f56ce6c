import { envBoolean, subjectToken, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';

type Field = 'NAME' | 'KIND' | 'ENDPOINT' | 'REGION' | 'BUCKET' | 'PREFIX' | 'PATH_STYLE' | 'DIR' | 'ACCESS_KEY_ID' | 'SECRET_ACCESS_KEY';

/**
 * The `ZONE_*` settings under a prefix (`BACKUP_ZONE_BUCKET`, `SCRATCH_ZONE_DIR`), all
 * optional: a zone is configured when its bucket or folder is set.
 * (Belongs in common beside `zoneEnv` once a second service needs it.)
 */
export function prefixedZoneEnv(prefix: string) {
  return {
    [`${prefix}ZONE_NAME`]: subjectToken.optional(),
    [`${prefix}ZONE_KIND`]: z.enum(['s3', 'local']).optional(),
    [`${prefix}ZONE_ENDPOINT`]: z.url().optional(),
    [`${prefix}ZONE_REGION`]: z.string().optional(),
    [`${prefix}ZONE_BUCKET`]: z.string().optional(),
    [`${prefix}ZONE_PREFIX`]: z.string().optional(),
    [`${prefix}ZONE_PATH_STYLE`]: envBoolean.optional(),
    [`${prefix}ZONE_DIR`]: z.string().optional(),
    [`${prefix}ZONE_ACCESS_KEY_ID`]: z.string().optional(),
    [`${prefix}ZONE_SECRET_ACCESS_KEY`]: z.string().optional(),
  } as Record<string, z.ZodType>;
}

/**
 * The zone described by the prefixed settings, `undefined` when neither its bucket nor
 * its folder is set, or the problem as text (naming the variable).
 */
export function zoneFromPrefixedEnv(config: Record<string, unknown>, prefix: string, defaultName: string): ZoneConfig | undefined | string {
  const get = (field: Field) => config[`${prefix}ZONE_${field}`];
  if (get('BUCKET') === undefined && get('DIR') === undefined) return undefined;
  const kind = (get('KIND') as 's3' | 'local' | undefined) ?? (get('DIR') !== undefined && get('BUCKET') === undefined ? 'local' : 's3');
  const zone = zoneFromEnv({
    ZONE_NAME: (get('NAME') as string | undefined) ?? defaultName,
    ZONE_KIND: kind,
    ZONE_ENDPOINT: get('ENDPOINT') as string | undefined,
    ZONE_REGION: (get('REGION') as string | undefined) ?? 'us-east-1',
    ZONE_BUCKET: get('BUCKET') as string | undefined,
    ZONE_PREFIX: (get('PREFIX') as string | undefined) ?? '',
    ZONE_PATH_STYLE: (get('PATH_STYLE') as boolean | undefined) ?? false,
    ZONE_DIR: get('DIR') as string | undefined,
    ZONE_ACCESS_KEY_ID: get('ACCESS_KEY_ID') as string | undefined,
    ZONE_SECRET_ACCESS_KEY: get('SECRET_ACCESS_KEY') as string | undefined,
  });
  return typeof zone === 'string' ? `${prefix}${zone}` : zone;
}
