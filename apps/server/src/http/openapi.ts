// /openapi.json, generated from the routes' own zod contracts.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Route } from './route.ts';

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
  for (const route of routes) registry.registerPath(route.openapi);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Countersign API',
      version,
      description: 'Approval requests for privileged actions, decided by people in Slack or Teams.',
    },
  });
}
