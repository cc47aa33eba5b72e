// HTTP load from autocannon: a fixed number of connections for a fixed time, each sending the
// next request as soon as the previous answer arrived.
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A fresh body for each request (e.g. a unique Idempotency-Key goes in `headers` via `setupRequest`). */
  body?: () => string;
  /** Per-request headers, merged over `headers`. */
  requestHeaders?: () => Record<string, string>;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  errors: number;
  non2xx: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, ...(options.requestHeaders?.() ?? {}) },
          ...(options.body ? { body: options.body() } : {}),
        }),
      },
    ],
  });
  const ok = result['2xx'];
  return {
    rps: ok / options.seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
