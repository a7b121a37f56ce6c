import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_BASE } from '../app.js';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { openApiPath } from './openapi.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  match(path: string): boolean;
}

/** Every route Express really has mounted, as `METHOD /path`, read from the router stacks. */
function mountedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle.stack) {
        // A mounted router: the API's is the one that matches its base.
        walk(layer.handle.stack, layer.match(`${API_BASE}/x`) && !layer.match('/x') ? API_BASE : prefix);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

type Json = Record<string, unknown>;

describe('GET /api/v1/openapi.json', () => {
  let gw: Gateway;
  let doc: Json & { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> } };
  beforeAll(async () => {
    gw = await startGateway();
    doc = (await request(gw.app).get('/api/v1/openapi.json').set('Authorization', await gw.bearer()).expect(200)).body;
  });
  afterAll(async () => {
    await gw.close();
  });

  it('is an OpenAPI 3.1 document with bearer and cookie security', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.components.securitySchemes.cookie).toEqual(expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'ferry_session' }));
  });

  it('lists every mounted route', () => {
    const mounted = mountedRoutes(gw.app);
    expect(mounted.length).toBeGreaterThan(20);
    expect(mounted).toContain('GET /health');
    expect(mounted).toContain('GET /api/v1/files/:id');
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    for (const route of mounted) {
      const [method, path] = route.split(' ') as [string, string];
      expect(documented, route).toContain(`${method} ${openApiPath(path)}`);
    }
    // And nothing documented that is not there.
    expect(documented.size).toBe(new Set(mounted).size);
  });

  it('describes parameters, bodies, answers and roles from the validating schemas', () => {
    const list = doc.paths['/api/v1/files']!.get!;
    const params = (list.parameters as { name: string; in: string }[]).map((p) => p.name);
    expect(params).toEqual(['instrument', 'status', 'q', 'since', 'until', 'limit', 'cursor', 'format']);
    expect((list.parameters as Json[]).find((p) => p.name === 'status')).toMatchObject({ in: 'query', required: false, schema: { enum: expect.arrayContaining(['failed']) } });
    expect(list.security).toEqual([{ bearer: [] }, { cookie: [] }]);
    expect(list['x-ferry-role']).toBe('viewer');
    expect(Object.keys(list.responses as Json)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '500']));
    expect((list.responses as Record<string, { content: Json }>)['200']!.content).toHaveProperty(['text/csv']);

    const detail = doc.paths['/api/v1/files/{id}']!.get!;
    expect(detail.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect((detail.responses as Record<string, Json>)['200']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/FileDetail' } } } });

    const silence = doc.paths['/api/v1/silences']!.post!;
    expect(silence['x-ferry-role']).toBe('operator');
    const body = (silence.requestBody as { required: boolean; content: Record<string, { schema: { properties: Json; required: string[] } }> });
    expect(body.required).toBe(true);
    expect(Object.keys(body.content['application/json']!.schema.properties)).toEqual(['matchers', 'duration', 'endsAt', 'startsAt', 'comment']);
    expect(body.content['application/json']!.schema.required).toEqual(['matchers', 'comment']);

    const signIn = doc.paths['/api/v1/session']!.post!;
    expect(signIn.security).toEqual([]);
    expect(doc.paths['/metrics']!.get!.security).toEqual([{}, { metricsToken: [] }]);
  });

  it('resolves every reference to a component schema', () => {
    const refs = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    expect(refs.size).toBeGreaterThan(5);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas, ref).toHaveProperty([ref.split('/').pop()!]);
    }
    expect(JSON.stringify(doc)).not.toContain('$defs');
    expect(doc.components.schemas.FileItem).toMatchObject({ type: 'object', required: expect.arrayContaining(['id', 'traceId']) });
  });

  it('needs a token', async () => {
    await request(gw.app).get('/api/v1/openapi.json').expect(401);
  });
});
