import { z } from 'zod';
import { ROLES } from '../domain/tokens.js';
import type { ApiRoute, ResponseDoc } from './routes.js';
import { apiSchemas, errorSchema } from './schemas.js';

/** A route outside `/api/v1` (health, metrics), documented by hand in the same form. */
export interface PlainRoute {
  method: 'get';
  path: string;
  tag: string;
  summary: string;
  description?: string;
  security: 'none' | 'metrics';
  responses: Record<number, ResponseDoc>;
}

type Json = Record<string, unknown>;

const COMPONENT_REF = '#/components/schemas/';

/** Rewrites zod's local `$defs` references into component references and drops the copies. */
function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value as Json)) {
    if (key === '$schema' || key === '$defs' || key === '$id') continue;
    if (key === '$ref' && typeof v === 'string') {
      out.$ref = v.replace(/^#\/\$defs\//, COMPONENT_REF);
      continue;
    }
    out[key] = toComponentRefs(v);
  }
  return out;
}

/** The JSON Schema of `schema`: a reference when it is a named component, else inline. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const id = apiSchemas.get(schema)?.id;
  if (id !== undefined) return { $ref: `${COMPONENT_REF}${id}` };
  return toComponentRefs(z.toJSONSchema(schema, { metadata: apiSchemas, io, unrepresentable: 'any', target: 'draft-2020-12' })) as Json;
}

/**
 * Query or path parameters: one entry per property of an object schema. Each is
 * described by what it is parsed into (an enum, a bounded number) where JSON Schema can
 * say it, else by the text it is given as (times and cursors, which are transformed).
 */
function parameters(schema: z.ZodType | undefined, where: 'query' | 'path'): Json[] {
  if (!schema) return [];
  type ObjectSchema = { properties?: Record<string, Json>; required?: string[] };
  const input = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as ObjectSchema;
  const output = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12' }) as ObjectSchema;
  const required = new Set(input.required ?? []);
  return Object.entries(input.properties ?? {}).map(([name, given]) => {
    const parsed = output.properties?.[name];
    const useful = parsed && ('type' in parsed || 'enum' in parsed || 'anyOf' in parsed) ? parsed : given;
    const { description, ...rest } = { ...useful, description: useful.description ?? given.description };
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: toComponentRefs(rest),
    };
  });
}

function responses(docs: Record<number, ResponseDoc>): Json {
  const out: Json = {};
  for (const [status, doc] of Object.entries(docs)) {
    const content: Json = {};
    // Every error answer has the one error shape.
    const schema = doc.schema ?? (Number(status) >= 400 ? errorSchema : undefined);
    if (schema) content['application/json'] = { schema: jsonSchema(schema, 'output') };
    for (const type of doc.mediaTypes ?? []) content[type] = { schema: { type: 'string', ...(type === 'application/octet-stream' ? { format: 'binary' } : {}) } };
    const headers: Json = {};
    for (const [name, description] of Object.entries(doc.headers ?? {})) headers[name] = { description, schema: { type: 'string' } };
    out[status] = {
      description: doc.description,
      ...(Object.keys(content).length > 0 ? { content } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
  }
  return out;
}

const ERROR = (description: string): ResponseDoc => ({ description, schema: errorSchema });

/** The answers every route may give besides its own. */
function commonResponses(route: ApiRoute): Record<number, ResponseDoc> {
  const out: Record<number, ResponseDoc> = {};
  if (route.query || route.params || route.body || route.method === 'get') out[400] = ERROR('A parameter or the body is invalid; `issues` names each.');
  if (route.access !== 'public') {
    out[401] = ERROR('No credentials, an unknown or revoked token, or an ended session; the message says which.');
    out[403] = ERROR(`The token's role is below ${route.access}, or a cookie-authenticated change lacks the CSRF header.`);
  }
  out[500] = ERROR('An internal error; nothing internal is said.');
  return out;
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** `/files/:id` in OpenAPI's notation, `/files/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI 3.1 document of the API routes and the plain ones. */
export function openApiDocument(options: { base: string; routes: readonly ApiRoute[]; plain: readonly PlainRoute[]; version?: string }): Json {
  const paths: Record<string, Json> = {};
  const add = (path: string, method: string, operation: Json) => {
    paths[path] ??= {};
    paths[path][method] = operation;
  };
  for (const route of options.routes) {
    const path = `${options.base}${route.path}`;
    add(openApiPath(path), route.method, {
      operationId: operationId(route.method, route.path),
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      security: route.access === 'public' ? [] : [{ bearer: [] }, { cookie: [] }],
      'x-ferry-role': route.access,
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body
        ? { requestBody: { required: route.bodyRequired === true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } }
        : {}),
      responses: responses({ ...commonResponses(route), ...route.responses }),
    });
  }
  for (const route of options.plain) {
    add(openApiPath(route.path), route.method, {
      operationId: operationId(route.method, route.path),
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      security: route.security === 'none' ? [] : [{}, { metricsToken: [] }],
      responses: responses(route.responses),
    });
  }
  const components = z.toJSONSchema(apiSchemas, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12', uri: (id) => `${COMPONENT_REF}${id}` }) as { schemas: Json };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ferry gateway',
      version: options.version ?? '1',
      description:
        'Where each instrument file is, whether it processed, and the operator commands. Every /api/v1 route needs a bearer token ' +
        `or the web page's session cookie; roles in increasing power: ${ROLES.join(', ')}.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: toComponentRefs(components.schemas),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (fry_…), created with `ferry-gateway create-token`.' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'ferry_session', description: 'Set by POST /api/v1/session. Changes need Content-Type: application/json or X-Ferry-Request: 1.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when the gateway has one.' },
      },
    },
  };
}
