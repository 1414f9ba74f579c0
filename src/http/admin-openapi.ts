// The OpenAPI 3.1 document of the admin API, made from the action table: one operation per action
// the API serves (its name as operationId, its permission as the security scope), the input schema
// split into path parameters, query parameters (GET, DELETE) or a JSON body (POST, PUT, PATCH).
import { z } from 'zod';
import type { AdminAction } from '../admin/action.ts';
import { ADMIN_SCOPES } from '../protocol/admin-scopes.ts';

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; [k: string]: unknown };

const PROBLEM = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

function operation(action: AdminAction): Record<string, unknown> {
  const http = action.http!;
  const schema = z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const inPath = [...http.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  const parameters: Record<string, unknown>[] = inPath.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: props[name] ?? { type: 'string' },
  }));
  const rest = Object.keys(props).filter((n) => !inPath.includes(n));
  const op: Record<string, unknown> = {
    operationId: action.name,
    summary: action.summary,
    tags: [action.name.split('.')[0]],
    security: [{ adminToken: [action.permission] }, { breakGlass: [] }],
    'x-permission': action.permission,
    'x-audit-event': action.event,
    ...(action.recentAuth ? { 'x-recent-sign-in': true } : {}),
  };
  if (http.method === 'GET' || http.method === 'DELETE') {
    for (const name of rest) parameters.push({ name, in: 'query', required: required.has(name), schema: props[name] });
  } else if (rest.length) {
    const body: JsonSchema = {
      type: 'object',
      properties: Object.fromEntries(rest.map((n) => [n, props[n]!])),
      additionalProperties: false,
    };
    const req = rest.filter((n) => required.has(n));
    if (req.length) body.required = req;
    op.requestBody = { required: req.length > 0, content: { 'application/json': { schema: body } } };
  }
  if (parameters.length) op.parameters = parameters;
  op.responses = {
    [String(http.status ?? 200)]: { description: 'Success', content: { 'application/json': { schema: {} } } },
    '400': PROBLEM,
    '401': PROBLEM,
    '403': PROBLEM,
    '404': PROBLEM,
    '409': PROBLEM,
    '412': PROBLEM,
  };
  return op;
}

/** The document; `issuer` gives the server URL and the token endpoint. */
export function adminOpenApi(actions: readonly AdminAction[], issuer: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const a of actions) {
    if (!a.http) continue;
    (paths[a.http.path] ??= {})[a.http.method.toLowerCase()] = operation(a);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera admin API',
      version: '1',
      description:
        'Every operation needs an access token Tessera issued for its admin audience with the scope named in its security requirement, or the break-glass TESSERA_ADMIN_TOKEN.',
    },
    servers: [{ url: `${issuer}/admin/api/v1` }],
    paths,
    components: {
      securitySchemes: {
        adminToken: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}/token`,
              scopes: Object.fromEntries(ADMIN_SCOPES.map((s) => [s, s])),
            },
          },
        },
        breakGlass: { type: 'http', scheme: 'bearer', description: 'TESSERA_ADMIN_TOKEN (the first owner only).' },
      },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
            },
          },
          required: ['status', 'code', 'detail'],
        },
      },
    },
  };
}
