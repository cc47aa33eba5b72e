// /openapi.json, generated from the routes' own zod contracts.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { openapiOperation, type Route } from './route.ts';

export function buildOpenApiDocument(
  routes: Route[],
  version: string,
): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from `countersign keys create`',
  });
  for (const route of routes) registry.registerPath(openapiOperation(route));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Countersign API',
      version,
      description: 'Approval requests for privileged actions, decided by people in Slack or Teams.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // Relative: the document is served by the server it describes, wherever that is.
    servers: [{ url: '/', description: 'the server that serves this document' }],
    // Every operation needs a key unless it says `security: []` (health, readiness, receipt keys).
    security: [{ apiKey: [] }],
  });
}
