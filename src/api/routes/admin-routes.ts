import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiKeyFingerprint, generateApiKey, generateWebhookSecret, hashApiKey } from '../../core/api-keys.ts';
import { AlphacutError } from '../../core/errors.ts';
import type { ApiKeyRecord, JobStore } from '../../core/ports/job-store.ts';
import type { ApiDeps } from '../api-deps.ts';
import { creditsView } from './account-routes.ts';

const idParams = z.object({ id: z.string() });

async function keyView(store: JobStore, k: ApiKeyRecord): Promise<Record<string, unknown>> {
  return {
    id: k.id,
    client_id: k.name,
    key_fingerprint: k.fingerprint,
    disabled: k.disabled,
    created_at: k.createdAt,
    credits: creditsView(await store.getBalance(k.id)),
  };
}

/** Creates a key (shown once) with its webhook secret and opening credits; shared with the CLI. */
export async function createKey(
  store: JobStore,
  input: { clientId?: string | null; credits?: number; note?: string | null; pepper?: string },
): Promise<{ record: ApiKeyRecord; key: string; webhookSecret: string }> {
  const key = generateApiKey();
  const webhookSecret = generateWebhookSecret();
  const record = await store.createApiKey({
    name: input.clientId ?? null,
    keyHash: hashApiKey(key, input.pepper),
    fingerprint: apiKeyFingerprint(key),
    webhookSecret,
  });
  if (input.credits && input.credits > 0)
    await store.grantCredits(record.id, input.credits, input.note ?? 'opening grant');
  return { record, key, webhookSecret };
}

export function registerAdminRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const store = deps.store;

  async function existing(id: string): Promise<ApiKeyRecord> {
    const k = await store.getApiKey(id);
    if (!k) throw new AlphacutError('not_found', `API key ${id} not found.`);
    return k;
  }

  r.post(
    '/v1/admin/keys',
    {
      schema: {
        body: z
          .object({
            client_id: z.string().max(200).optional(),
            note: z.string().max(500).optional(),
            credits: z.number().int().min(0).optional(),
          })
          .optional(),
        tags: ['admin'],
        summary: 'Create an API key (the key and webhook secret are shown once)',
      },
      config: { auth: 'admin' },
    },
    async (req, reply) => {
      const body = req.body ?? {};
      const { record, key, webhookSecret } = await createKey(store, {
        clientId: body.client_id ?? null,
        credits: body.credits ?? deps.config.defaultKeyCredits,
        note: body.note ?? null,
        ...(deps.config.keyPepper ? { pepper: deps.config.keyPepper } : {}),
      });
      return reply.code(201).send({
        success: true,
        ...(await keyView(store, record)),
        key,
        webhook_secret: webhookSecret,
        note: body.note ?? null,
      });
    },
  );

  r.get(
    '/v1/admin/keys',
    { schema: { tags: ['admin'], summary: 'All API keys' }, config: { auth: 'admin' } },
    async () => ({
      success: true,
      keys: await Promise.all((await store.listApiKeys()).map((k) => keyView(store, k))),
    }),
  );

  for (const action of ['disable', 'enable'] as const)
    r.post(
      `/v1/admin/keys/:id/${action}`,
      {
        schema: { params: idParams, tags: ['admin'], summary: `${action} an API key` },
        config: { auth: 'admin' },
      },
      async (req) => {
        if (!(await store.setApiKeyDisabled(req.params.id, action === 'disable')))
          throw new AlphacutError('not_found', `API key ${req.params.id} not found.`);
        return { success: true, ...(await keyView(store, await existing(req.params.id))) };
      },
    );

  r.post(
    '/v1/admin/keys/:id/credits',
    {
      schema: {
        params: idParams,
        body: z.object({ amount: z.number().int().positive(), note: z.string().max(500).optional() }),
        tags: ['admin'],
        summary: 'Grant credits',
      },
      config: { auth: 'admin' },
    },
    async (req) => {
      await existing(req.params.id);
      const b = await store.grantCredits(req.params.id, req.body.amount, req.body.note);
      return { success: true, id: req.params.id, ...creditsView(b) };
    },
  );

  r.get(
    '/v1/admin/keys/:id/webhook-secret',
    {
      schema: { params: idParams, tags: ['admin'], summary: 'Read the webhook signing secret' },
      config: { auth: 'admin' },
    },
    async (req) => {
      await existing(req.params.id);
      return {
        success: true,
        id: req.params.id,
        webhook_secret: await store.getWebhookSecret(req.params.id),
      };
    },
  );

  r.post(
    '/v1/admin/keys/:id/webhook-secret/rotate',
    {
      schema: { params: idParams, tags: ['admin'], summary: 'Rotate the webhook signing secret' },
      config: { auth: 'admin' },
    },
    async (req) => {
      const secret = generateWebhookSecret();
      if (!(await store.rotateWebhookSecret(req.params.id, secret)))
        throw new AlphacutError('not_found', `API key ${req.params.id} not found.`);
      return { success: true, id: req.params.id, webhook_secret: secret };
    },
  );
}
