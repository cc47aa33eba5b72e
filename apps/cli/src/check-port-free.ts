// Binds and releases the HTTP port before start-up does anything slow (database wait, migrations),
// so a port in use fails in a moment rather than after them. The real listen is still checked.
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  probe.listen({ port, host, exclusive: true });
  await once(probe, 'listening');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
