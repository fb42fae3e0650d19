/**
 * The headers of every webhook request, and how the invocation log shows them. As in Hasura
 * (Hasura.HTTP.addDefaultHeaders, Eventing.HTTP.prepareHeaders): Content-Type and User-Agent first, then
 * the trigger's own; the log lists them all in the trigger's form, so a header from the environment
 * appears by its variable's name and a template as the template, never as the value sent.
 *
 * Unlike Hasura, a trigger may set its own User-Agent (it replaces ours); the Content-Type of the JSON
 * body is never replaced.
 */
import type { HeaderSpec } from '../catalog/definition.js';
import { VERSION } from '../version.js';

export const USER_AGENT = `pg-event-triggers/${VERSION} (+event trigger webhook)`;

export interface RequestHeaders {
  /** What is sent: lower-case names, resolved values. */
  sent: Record<string, string>;
  /** The invocation log's `request.headers`, as JSON text (built once per trigger, not per call). */
  loggedJson: string;
  /** The same, as a list (what a request transform edits for its log). */
  logged: HeaderSpec[];
}

/** resolved: the trigger's headers with their values resolved (lower-case names, see resolveDelivery). */
export function requestHeaders(specs: readonly HeaderSpec[], resolved: Record<string, string>): RequestHeaders {
  const own = specs.filter((h) => h.name.toLowerCase() !== 'content-type');
  const ownUserAgent = own.some((h) => h.name.toLowerCase() === 'user-agent');
  const logged: HeaderSpec[] = [
    { name: 'Content-Type', value: 'application/json' },
    ...(ownUserAgent ? [] : [{ name: 'User-Agent', value: USER_AGENT }]),
    ...own,
  ];
  const sent: Record<string, string> = { 'user-agent': USER_AGENT, ...resolved, 'content-type': 'application/json' };
  return { sent, loggedJson: JSON.stringify(logged), logged };
}
