import { createRoute, z } from '@hono/zod-openapi';
import type { Orm } from '../../db/database.js';
import { selectAliases } from '../../db/tables/participantAliases.js';
import { AppError } from '../../errors.js';
import type { SportingEventMatcher } from '../../odds/sportingEventMatcher.js';
import { participantKey } from '../../platforms/matching/participants.js';
import { storedName } from '../../platforms/storedValues.js';
import type { ParticipantAliasInfo } from '../../shared/contract.js';
import { errorResponses, JSON_BODY, MUTATING, OPERATOR_ONLY, USES_DATABASE } from '../openapi.js';
import { openapiWithJsonBody, validatedRoutes } from '../validation.js';

const name = storedName.refine((value) => participantKey(value) !== '', { error: 'has no letters or digits to match on' });
const aliasBody = z.object({ alias: name, canonical: name }).strict();
const aliasParam = z.object({ alias: z.string().openapi({ description: 'the alias as set (any spelling that normalises the same)' }) });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'The participant aliases (names normalisation cannot join)',
  responses: { 200: { description: 'ParticipantAliasInfo[]' }, ...errorResponses(USES_DATABASE) },
});

const setRoute = createRoute({
  method: 'put',
  path: '/',
  summary: 'Set an alias ("Man Utd" = "Manchester United") and re-match the sporting events it touches',
  security: OPERATOR_ONLY,
  request: { body: { content: { 'application/json': { schema: aliasBody } } } },
  responses: { 200: { description: '{ alias: ParticipantAliasInfo, moved }' }, ...errorResponses(USES_DATABASE, MUTATING, JSON_BODY) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{alias}',
  summary: 'Delete an alias and re-match the sporting events it touched',
  security: OPERATOR_ONLY,
  request: { params: aliasParam },
  responses: { 200: { description: '{ moved }' }, ...errorResponses(USES_DATABASE, MUTATING, { 404: ['not_found'] }) },
});

export interface AliasRoutesDeps {
  orm: Orm;
  matcher: Pick<SportingEventMatcher, 'setAlias' | 'deleteAlias'>;
}

const info = (row: { alias_key: string; alias: string; canonical: string; canonical_key: string; created_at: Date }): ParticipantAliasInfo => ({
  alias: row.alias,
  canonical: row.canonical,
  aliasKey: row.alias_key,
  canonicalKey: row.canonical_key,
  createdAt: new Date(row.created_at).toISOString(),
});

/** /api/aliases: participant aliases, read by anyone, set and deleted with the operator token. */
export function createAliasRoutes({ orm, matcher }: AliasRoutesDeps) {
  const app = validatedRoutes().openapi(listRoute, async (c) => c.json((await selectAliases(orm)).map(info)));
  openapiWithJsonBody(app, setRoute, async (c) => {
    const { alias, canonical } = c.req.valid('json');
    if (participantKey(alias) === participantKey(canonical)) {
      throw new AppError('invalid_request', 400, 'alias and canonical already normalise to the same name: no alias is needed');
    }
    const set = await matcher.setAlias(alias, canonical);
    const row = (await selectAliases(orm)).find((candidate) => candidate.alias_key === set.aliasKey);
    return c.json({ alias: row ? info(row) : null, moved: set.moved });
  });
  return app.openapi(deleteRoute, async (c) => {
    const deleted = await matcher.deleteAlias(c.req.valid('param').alias);
    if (deleted === null) throw new AppError('not_found', 404, 'no such alias');
    return c.json(deleted);
  });
}
