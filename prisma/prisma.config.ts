// Prisma CLI configuration. DATABASE_URL is read with a fallback because `prisma generate`
// must work without a database (Prisma's env() helper throws when the variable is unset).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env['DATABASE_URL'] ?? 'postgresql://localhost:5432/countersign' },
});
