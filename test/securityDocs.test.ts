/**
 * docs/security.md's receiver, run as written (on a free port instead of 3000) against signed deliveries
 * of the webhook client: it accepts a request signed with its secret, also during a rotation, and refuses
 * one signed with another secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveTrigger } from '../src/catalog/triggerRegistry.js';
import { WebhookClient, type WebhookOutcome } from '../src/delivery/webhookClient.js';
import { freePort } from './support/provisionPostgres.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
let receiver: ChildProcess;
let port: number;
let client: WebhookClient;

beforeAll(async () => {
  const doc = await readFile(new URL('../docs/security.md', import.meta.url), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(code, 'a js example in docs/security.md').toBeDefined();
  port = await freePort();
  receiver = spawn(process.execPath, ['--input-type=module', '-e', code!.replace('.listen(3000)', `.listen(${port}, '127.0.0.1')`)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, WEBHOOK_SECRET: secret },
    stdio: 'inherit',
  });
  client = new WebhookClient({ connections: 1, responseBodyLimit: 1024 });
});
afterAll(async () => {
  receiver?.kill();
  await client?.close();
});

async function deliverSignedWith(signingSecret: string): Promise<number | null> {
  const trigger = resolveTrigger(
    randomUUID(),
    {
      name: 'signed',
      table: { schema: 'public', name: 'items' },
      webhook: `http://127.0.0.1:${port}/hook`,
      headers: [],
      retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 5 },
      trigger_on_replication: false,
      signing_secret: { value: signingSecret },
    },
    {},
  );
  const event = {
    id: randomUUID(),
    schema_name: 'public',
    table_name: 'items',
    trigger_name: 'signed',
    tries: 0,
    created_at: '2026-01-01T00:00:00.000000Z',
    payload: '{"op":"INSERT","data":{"old":null,"new":{"id":1}}}',
    retry_in_ms: 0,
    redeliveries: 0,
  };
  // The receiver takes a moment to listen: connection refused until then.
  for (let i = 0; i < 100; i++) {
    const outcome = (await client.start(event, trigger, 0).done) as WebhookOutcome;
    if (outcome.status !== null) return outcome.status;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

test('the receiver of docs/security.md accepts our signature, during a rotation too, and refuses another secret', async () => {
  const other = `whsec_${randomBytes(32).toString('base64')}`;
  expect(await deliverSignedWith(secret)).toBe(200);
  expect(await deliverSignedWith(`${other} ${secret}`)).toBe(200);
  expect(await deliverSignedWith(other)).toBe(401);
});
