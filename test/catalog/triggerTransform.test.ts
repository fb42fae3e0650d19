/**
 * A trigger's request_transform as the registry resolves it, once per reload: compiled, with the log's
 * view of the headers; absent for a trigger without one (the webhook client's untransformed path); and a
 * stored transform that cannot be used is a problem of that trigger, not a failed reload.
 */
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import type { TriggerDefinition } from '../../src/catalog/definition.js';
import { resolveTrigger } from '../../src/catalog/triggerRegistry.js';

const definition = (extra: Partial<TriggerDefinition> = {}): TriggerDefinition => ({
  name: 't',
  table: { schema: 'public', name: 'items' },
  webhook: 'http://127.0.0.1:9/hook',
  headers: [{ name: 'Authorization', value_from_env: 'TOKEN' }],
  retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: 5 },
  trigger_on_replication: false,
  ...extra,
});

test('a trigger without a transform has none: the untransformed path', () => {
  const resolved = resolveTrigger(randomUUID(), definition(), { TOKEN: 'x' });
  expect('transform' in resolved).toBe(false);
  expect(resolved.problem).toBeUndefined();
});

test('a transform is compiled with the headers as the log shows them', () => {
  const resolved = resolveTrigger(
    randomUUID(),
    definition({ request_transform: { version: 1, template_engine: 'Kriti', url: '{{$base_url}}/x', body: '{{ $body }}' } }),
    { TOKEN: 'x' },
  );
  expect(resolved.problem).toBeUndefined();
  expect(resolved.target).toBeDefined();
  expect(resolved.transform?.compiled.url?.template.source).toBe('{{$base_url}}/x');
  expect(resolved.transform?.loggedHeaders).toEqual([
    { name: 'Content-Type', value: 'application/json' },
    { name: 'User-Agent', value: expect.stringMatching(/^pg-event-triggers\//) },
    { name: 'Authorization', value_from_env: 'TOKEN' },
  ]);
});

test('a stored transform that cannot be used makes the trigger undeliverable, naming why', () => {
  const badTemplate = resolveTrigger(
    randomUUID(),
    definition({ request_transform: { version: 1, template_engine: 'Kriti', body: '{{' } }),
    { TOKEN: 'x' },
  );
  expect(badTemplate.target).toBeUndefined();
  expect(badTemplate.problem).toMatch(/request_transform of event trigger "t" cannot be used: request_transform.body: Parse Error/);
  const notHasuras = resolveTrigger(
    randomUUID(),
    definition({ request_transform: { version: 2, template_engine: 'Kriti', request_headers: 'x' } as never }),
    { TOKEN: 'x' },
  );
  expect(notHasuras.problem).toMatch(/not a request transform in Hasura's form/);
});
