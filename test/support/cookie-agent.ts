// A minimal browser stand-in for console tests without a real browser: keeps cookies per host
// (like a browser, ports share a host's cookies) and follows redirects across origins by hand,
// so each hop's status and Location can be checked.
export interface AgentResponse {
  status: number;
  url: string;
  location: string | null;
  headers: Headers;
  text: string;
}

export interface CookieAgent {
  request(
    method: string,
    url: string,
    form?: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<AgentResponse>;
  /** Follows redirects (GET after each) until a non-redirect answer or `stopAt` matches a Location. */
  follow(url: string, stopAt?: (location: string) => boolean): Promise<AgentResponse>;
  cookie(host: string, name: string): string | undefined;
  setCookie(host: string, name: string, value: string): void;
  /** Every Set-Cookie header this agent received, raw. */
  setCookieHeaders: string[];
}

export function createCookieAgent(): CookieAgent {
  const jar = new Map<string, Map<string, string>>();
  const setCookieHeaders: string[] = [];
  const store = (host: string, header: string) => {
    setCookieHeaders.push(header);
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const cookies = jar.get(host) ?? new Map<string, string>();
    jar.set(host, cookies);
    const expired = attributes.some((a) => {
      const [key = '', val = ''] = a.split('=').map((s) => s.trim());
      return (
        (key.toLowerCase() === 'max-age' && Number(val) <= 0) ||
        (key.toLowerCase() === 'expires' && Date.parse(val) < Date.now())
      );
    });
    if (expired) cookies.delete(name);
    else cookies.set(name, value);
  };
  const agent: CookieAgent = {
    setCookieHeaders,
    async request(method, url, form, headers = {}) {
      const target = new URL(url);
      const cookies = jar.get(target.hostname);
      const cookieHeader = cookies ? [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') : '';
      const response = await fetch(target, {
        method,
        redirect: 'manual',
        headers: {
          ...(cookieHeader ? { cookie: cookieHeader } : {}),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...headers,
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
      for (const header of response.headers.getSetCookie()) store(target.hostname, header);
      const location = response.headers.get('location');
      return {
        status: response.status,
        url: target.href,
        location: location ? new URL(location, target).href : null,
        headers: response.headers,
        text: await response.text(),
      };
    },
    async follow(url, stopAt) {
      let response = await agent.request('GET', url);
      for (let hops = 0; response.location && hops < 15; hops++) {
        if (stopAt?.(response.location)) return response;
        response = await agent.request('GET', response.location);
      }
      return response;
    },
    cookie: (host, name) => jar.get(host)?.get(name),
    setCookie(host, name, value) {
      const cookies = jar.get(host) ?? new Map<string, string>();
      cookies.set(name, value);
      jar.set(host, cookies);
    },
  };
  return agent;
}

/** The CSRF token of the first form on a page. */
export function csrfTokenOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no CSRF token on the page');
  return match[1];
}

/** Signs `email` in through the development sign-in of the server at `url`; throws unless it worked. */
export async function devSignIn(url: string, email: string): Promise<CookieAgent> {
  const agent = createCookieAgent();
  const page = await agent.request('GET', `${url}/signin`);
  const done = await agent.request('POST', `${url}/auth/dev`, { email, _csrf: csrfTokenOf(page.text) });
  if (done.status !== 303) throw new Error(`dev sign-in of ${email} answered ${done.status}: ${done.text}`);
  return agent;
}
