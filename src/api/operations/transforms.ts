/**
 * test_webhook_transform: a request transform tried on a sample request, as Hasura offers it, so a
 * template can be checked before a trigger uses it. Nothing is stored or sent; the environment is the
 * sample "env" of the args, never the daemon's.
 *
 * The sample request is the one this daemon would send for an event: POST, with Content-Type and
 * User-Agent, then the sample request_headers (Hasura starts from GET and the sample headers alone).
 */
import { ApiError, jsonPath } from '../errors.js';
import { RawJson, stringifyParsed } from '../json.js';
import type { TestWebhookTransformArgs } from '../schemas.js';
import { isHttpUrl } from '../../catalog/definition.js';
import { isTemplate, renderTemplate } from '../../catalog/template.js';
import { USER_AGENT } from '../../delivery/requestHeaders.js';
import {
  applyRequestTransform,
  compileRequestTransform,
  lowerCasedStrings,
  TransformRunError,
  type TransformedRequest,
} from '../../transform/requestTransform.js';
import type { OperationContext, Tx } from './context.js';

const ARGS = '$.args';

export function testWebhookTransform(_ctx: OperationContext, _tx: Tx, args: TestWebhookTransformArgs) {
  const env = args.env ?? {};
  const url = sampleWebhook(args.webhook_url, env);
  const headers: Array<[string, string]> = [
    ['Content-Type', 'application/json'],
    ['User-Agent', USER_AGENT],
    ...(args.request_headers ?? []).map(([name, value], i): [string, string] => [
      name,
      withSampleEnv(value, env, `${ARGS}.request_headers[${i}]`),
    ]),
  ];
  let out: TransformedRequest;
  try {
    out = applyRequestTransform(compileRequestTransform(args.request_transform), {
      url,
      method: 'POST',
      headers,
      body: stringifyParsed(args.body),
      sessionVariables: args.session_variables ? lowerCasedStrings(args.session_variables) : null,
    });
  } catch (error) {
    if (!(error instanceof TransformRunError)) throw error;
    // As Hasura answers a transform that fails on the sample: validation-failed, its errors in internal.
    const internal = [error.kriti?.toHasura() ?? { error_code: 'Transformation Error', message: error.detail }];
    throw new ApiError(
      'validation-failed',
      `request transform validation failed: ${error.message}`,
      jsonPath(`${ARGS}.request_transform`, error.path),
    ).withInternal(internal);
  }
  // Hasura's answer: header names folded to lower case, the body as JSON when it is JSON ("" when removed).
  return Promise.resolve({
    webhook_url: out.url,
    method: out.method,
    headers: out.headers.map(([name, value]) => [name.toLowerCase(), value]),
    body: out.body === undefined ? '' : out.bodyIsJson ? new RawJson(out.body) : out.body,
  });
}

/** The sample webhook: a URL, a template of one, or {"from_env": NAME}, from the sample env. */
function sampleWebhook(webhook: TestWebhookTransformArgs['webhook_url'], env: Record<string, string>): string {
  const path = `${ARGS}.webhook_url`;
  let url: string;
  if (typeof webhook === 'string') {
    url = withSampleEnv(webhook, env, path);
  } else {
    const value = env[webhook.from_env];
    if (value === undefined) throw missingSample([webhook.from_env], path);
    url = value;
  }
  if (!isHttpUrl(url)) {
    throw new ApiError(
      'validation-failed',
      'request transform validation failed: webhook_url is not an absolute http(s) URL',
      path,
    ).withInternal([{ error_code: 'Request Initialization Error', message: 'webhook_url is not an absolute http(s) URL' }]);
  }
  return url;
}

function withSampleEnv(text: string, env: Record<string, string>, path: string): string {
  if (!isTemplate(text)) return text;
  const rendered = renderTemplate(text, env);
  if ('missing' in rendered) throw missingSample(rendered.missing, path);
  return rendered.value;
}

const missingSample = (names: string[], path: string) =>
  new ApiError(
    'not-exists',
    `${names.map((n) => `"${n}"`).join(', ')} not found in "env": test_webhook_transform never reads the daemon's ` +
      'environment, give a sample value for each variable in "env"',
    path,
  );
