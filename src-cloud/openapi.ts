/** The OpenAPI 3.1 description of src-cloud/app.ts, written by hand; tests/cloud/openapi.test.ts keeps the two in step. */
const error = { $ref: '#/components/responses/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const body = (schema: object) => ({ required: true, ...json(schema) });
const bearer = [{ bearer: [] }];

const tokens = {
  type: 'object',
  required: ['accessToken', 'refreshToken', 'accessExpiresAt'],
  properties: { accessToken: { type: 'string' }, refreshToken: { type: 'string' }, accessExpiresAt: { type: 'string', format: 'date-time' } },
};
const grant = {
  type: 'object',
  required: ['grant', 'balance'],
  properties: {
    grant: { type: 'string', description: 'base64url(payload JSON) "." base64url(Ed25519 signature of those bytes); verify with GET /v1/keys' },
    balance: { $ref: '#/components/schemas/Balance' },
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Mouthpiece cloud', version: '1.0.0', description: 'Accounts, devices, monthly credit grants signed with Ed25519, and spend reconciliation.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
      Balance: {
        type: 'object',
        required: ['grantId', 'credits', 'spent', 'remaining'],
        properties: { grantId: { type: 'string' }, credits: { type: 'integer' }, spent: { type: 'integer' }, remaining: { type: 'integer' } },
      },
      Device: {
        type: 'object',
        required: ['id', 'name', 'createdAt', 'lastSeenAt', 'current'],
        properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' }, lastSeenAt: { type: 'string' }, current: { type: 'boolean' } },
      },
    },
    responses: {
      Error: {
        description: '400 bad request, 401 unauthenticated, 404, 409, 413, 429 (with Retry-After, seconds) or 500',
        headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'on 429: seconds to wait' } },
        ...json({ $ref: '#/components/schemas/Error' }),
      },
    },
  },
  paths: {
    '/health': { get: { summary: 'Liveness', responses: { '200': { description: 'up', ...json({ type: 'object', properties: { ok: { const: true } } }) } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    '/v1/keys': {
      get: {
        summary: 'Public keys grants are signed with',
        responses: {
          '200': {
            description: 'Ed25519 keys, SubjectPublicKeyInfo DER in base64',
            ...json({ type: 'object', properties: { keys: { type: 'array', items: { type: 'object', required: ['kid', 'alg', 'spki'], properties: { kid: { type: 'string' }, alg: { const: 'Ed25519' }, spki: { type: 'string' } } } } } }),
          },
        },
      },
    },
    '/v1/accounts': {
      post: {
        summary: 'Register (free plan); rate limited per address and per email',
        requestBody: body({ type: 'object', required: ['email', 'password'], properties: { email: { type: 'string', format: 'email' }, password: { type: 'string', minLength: 8, maxLength: 200 } }, additionalProperties: false }),
        responses: { '201': { description: 'registered', ...json({ type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, plan: { enum: ['free', 'premium'] } } }) }, default: error },
      },
    },
    '/v1/sessions': {
      post: {
        summary: 'Sign in on a device; rate limited per address and per email',
        requestBody: body({
          type: 'object',
          required: ['email', 'password'],
          properties: { email: { type: 'string' }, password: { type: 'string' }, deviceName: { type: 'string' }, deviceId: { type: 'string', description: 'this device, from an earlier sign-in' } },
          additionalProperties: false,
        }),
        responses: {
          '201': { description: 'signed in', ...json({ allOf: [tokens, { type: 'object', properties: { deviceId: { type: 'string' }, account: { type: 'object' } } }] }) },
          default: error,
        },
      },
    },
    '/v1/sessions/refresh': {
      post: {
        summary: 'Rotate the refresh token; a reused one revokes the whole sign-in',
        requestBody: body({ type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string' } }, additionalProperties: false }),
        responses: { '200': { description: 'new pair', ...json(tokens) }, default: error },
      },
    },
    '/v1/sessions/revoke': {
      post: {
        summary: 'Revoke the sign-in a refresh token belongs to (sign-out sent later from an outbox)',
        requestBody: body({ type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string' } }, additionalProperties: false }),
        responses: { '204': { description: 'revoked (or unknown)' }, default: error },
      },
    },
    '/v1/sessions/current': { delete: { summary: 'Sign out this session', security: bearer, responses: { '204': { description: 'revoked' }, default: error } } },
    '/v1/account': {
      get: {
        summary: 'The account, its devices and this month’s grant',
        security: bearer,
        responses: {
          '200': {
            description: 'account',
            ...json({
              allOf: [
                grant,
                { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, plan: { enum: ['free', 'premium'] }, deviceId: { type: 'string' }, devices: { type: 'array', items: { $ref: '#/components/schemas/Device' } } } },
              ],
            }),
          },
          default: error,
        },
      },
    },
    '/v1/devices': {
      get: { summary: 'Signed-in devices', security: bearer, responses: { '200': { description: 'devices', ...json({ type: 'object', properties: { devices: { type: 'array', items: { $ref: '#/components/schemas/Device' } } } }) }, default: error } },
    },
    '/v1/devices/{id}': {
      delete: {
        summary: 'Sign a device out everywhere',
        security: bearer,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'revoked' }, default: error },
      },
    },
    '/v1/grants/current': { get: { summary: 'This month’s signed grant', security: bearer, responses: { '200': { description: 'grant', ...json(grant) }, default: error } } },
    '/v1/spends': {
      post: {
        summary: 'Reconcile spends: idempotent by id; refused when the grant does not cover them',
        security: bearer,
        requestBody: body({
          type: 'object',
          required: ['spends'],
          additionalProperties: false,
          properties: {
            spends: {
              type: 'array',
              maxItems: 1000,
              items: {
                type: 'object',
                required: ['id', 'grantId', 'credits', 'spentAt'],
                additionalProperties: false,
                properties: { id: { type: 'string', minLength: 8 }, grantId: { type: 'string' }, credits: { type: 'integer', minimum: 1 }, spentAt: { type: 'string', format: 'date-time' } },
              },
            },
          },
        }),
        responses: {
          '200': {
            description: 'one result per spend, and the grant after them',
            ...json({
              allOf: [
                grant,
                {
                  type: 'object',
                  properties: {
                    results: {
                      type: 'array',
                      items: { type: 'object', required: ['id', 'status', 'duplicate'], properties: { id: { type: 'string' }, status: { enum: ['accepted', 'refused'] }, duplicate: { type: 'boolean' }, reason: { type: 'string' } } },
                    },
                  },
                },
              ],
            }),
          },
          default: error,
        },
      },
    },
  },
} as const;
