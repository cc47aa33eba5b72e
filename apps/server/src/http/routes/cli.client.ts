// GET /cli/countersign.mjs — the single-file client for pipelines (`request`, `audit report --url`,
// `audit verify --url`), runnable with plain Node and no node_modules. Public: it is code, no data.
import { z } from 'zod';
import { clientBundle } from '../../cli-bundle/bundle-client.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';

export const clientScriptRoute: Route = {
  method: 'get',
  path: '/cli/countersign.mjs',
  scope: 'public',
  contract: {
    operationId: 'getClientScript',
    summary: 'The single-file Countersign client (an ES module for Node ≥ 20.19)',
    responses: {
      200: {
        description: 'JavaScript; save it and run `node countersign.mjs request … --wait`',
        content: { 'text/javascript': { schema: z.string() } },
      },
      '4XX': problemResponse('Any client error, as problem+json'),
    },
  },
  handlers() {
    return [
      async (req, res) => {
        const bundle = await clientBundle();
        res.set({ 'Cache-Control': 'public, max-age=300', ETag: bundle.etag });
        if (req.headers['if-none-match'] === bundle.etag) {
          res.status(304).end();
          return;
        }
        res.type('text/javascript; charset=utf-8').send(bundle.code);
      },
    ];
  },
};
