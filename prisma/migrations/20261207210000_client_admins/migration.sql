-- A client may name the people who administer its key (`countersign keys create --admin`,
-- `keys admins`): the console shows them the requests the key created. Nullable like every list
-- column Prisma describes; clients made before this have none.
ALTER TABLE "clients" ADD COLUMN "admins" TEXT[];
UPDATE "clients" SET "admins" = '{}';
