/**
 * Refuses requests a web browser makes on behalf of another site. Any page open in a browser on this
 * machine can POST to http://127.0.0.1:8080 (a "simple" request such as text/plain needs no CORS
 * preflight, and every body is read as JSON so that curl -d works), and a page on a hostile domain can
 * rebind its name to 127.0.0.1 and even read the answers (DNS rebinding). Without ADMIN_SECRET that was
 * enough to create a trigger sending a table's rows anywhere.
 *
 * Browsers say where a request comes from, and scripts cannot forge it: Origin on every cross-origin
 * POST, Sec-Fetch-Site on every request of current browsers. So a request is refused when Origin is not
 * the daemon's own origin, or Sec-Fetch-Site is not none (typed by the user) or same-origin. Without
 * ADMIN_SECRET, Host must also name this machine (a loopback name or address, or the configured HOST):
 * a rebound page's requests carry the attacker's name in Host. curl, the Hasura CLI and server-side
 * clients send none of these headers, or a Host naming the address they called, and are not affected.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

export interface GuardOptions {
  adminSecret: string | undefined;
  /** The configured HOST: requests addressed to it are the daemon's own. */
  host: string | undefined;
}

export interface Refusal {
  /** For the log: which header gave it away (its value cut short; none of them holds a secret). */
  reason: string;
  /** For the client. */
  message: string;
}

/** Header values are echoed into the log and the answer: at most this many characters of each. */
const SHOWN = 100;
const show = (value: string) => JSON.stringify(value.length > SHOWN ? `${value.slice(0, SHOWN)}…` : value);

export function createBrowserGuard(options: GuardOptions): (headers: IncomingHttpHeaders) => Refusal | undefined {
  const configuredHost = options.host === undefined ? undefined : hostnameOf(options.host);
  return (headers) => {
    const host = headers.host;
    // HTTP/1.0 may omit Host; browsers never do, so a request without it is not a browser's.
    if (!options.adminSecret && host !== undefined) {
      const name = hostnameOf(host);
      if (name === undefined || !(isLoopback(name) || name === configuredHost)) {
        return {
          reason: `Host ${show(host)} is not a loopback name or address`,
          message:
            `requests addressed to ${show(host)} are refused: without ADMIN_SECRET the API answers only requests to a ` +
            'loopback name or address (127.0.0.1, localhost, ::1), so that a web page cannot reach it by DNS rebinding',
        };
      }
    }
    const origin = headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, host)) {
      return {
        reason: `cross-origin request (Origin ${show(origin)})`,
        message: `requests from web pages of other origins are refused (Origin ${show(origin)}): call the API from a server, a script or the command line`,
      };
    }
    const site = headers['sec-fetch-site'];
    if (site !== undefined && site !== 'none' && site !== 'same-origin') {
      return {
        reason: `cross-site request (Sec-Fetch-Site ${show(String(site))})`,
        message: `requests from web pages of other sites are refused (Sec-Fetch-Site ${show(String(site))}): call the API from a server, a script or the command line`,
      };
    }
    return undefined;
  };
}

/** Whether an Origin header names the origin the request was addressed to (its Host), over http or https. */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file: pages), or several origins joined: not ours
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  // Behind a TLS proxy the page may be https while the daemon is http: the host and port decide.
  try {
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

/** The host name of a Host header or a HOST setting, without port, brackets or trailing dot; lower case. */
function hostnameOf(value: string): string | undefined {
  // A name, an address, a port: nothing the URL parser would read as user info or a path ("a@127.0.0.1").
  if (!/^[A-Za-z0-9._~%:[\]-]+$/.test(value)) return undefined;
  const bracketed = isIPv6(value) ? `[${value}]` : value; // a bare ::1 (the HOST setting)
  try {
    const name = new URL(`http://${bracketed}`).hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

/**
 * 127.0.0.0/8, ::1 (also as an IPv4-mapped address), localhost and *.localhost (which browsers resolve to
 * loopback themselves, RFC 6761: no one can rebind them). The URL parser has already normalised the
 * address forms (127.1, 2130706433, [::ffff:127.0.0.1] as [::ffff:7f00:1]).
 */
function isLoopback(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (isIPv6(name)) return name === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(name);
  return false;
}
