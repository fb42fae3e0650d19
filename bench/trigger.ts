/** Creates the benchmark's event trigger through the daemon's API, the way a user does. */
import { request } from 'undici';
import { TABLE } from './workload.js';

export const TRIGGER = 'bench_orders_created';

/** BENCH_SIGNED's secret: Standard Webhooks' whsec_ and 32 bytes in base64, as a user makes one. */
export const BENCH_SIGNING_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

export async function createTrigger(
  apiUrl: string,
  webhookUrl: string,
  name = TRIGGER,
  table = TABLE,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const response = await request(`${apiUrl}/v1/metadata`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'create_event_trigger',
      args: { name, table: { schema: 'public', name: table }, webhook: webhookUrl, insert: { columns: '*' }, ...extra },
    }),
  });
  const answer = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`create_event_trigger failed (${response.statusCode}): ${answer}`);
}
