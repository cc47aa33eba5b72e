-- The identity provider's directory as SCIM 2.0 provisions it (Okta, Microsoft Entra): people,
-- groups and memberships, and the bearer tokens the provisioning clients present.

CREATE TABLE "scim_tokens" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "scim_tokens_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "scim_tokens_hash_key" ON "scim_tokens"("hash");

CREATE TABLE "directory_users" (
    "id" UUID NOT NULL,
    "user_name" TEXT NOT NULL,
    "user_name_key" TEXT NOT NULL,
    "external_id" TEXT,
    "email" TEXT,
    "display_name" TEXT,
    "name" JSONB,
    "emails" JSONB,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "removed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "directory_users_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "directory_users_user_name_key_key" ON "directory_users"("user_name_key");
CREATE INDEX "directory_users_email_idx" ON "directory_users"("email");

CREATE TABLE "directory_groups" (
    "id" UUID NOT NULL,
    "display_name" TEXT NOT NULL,
    "display_name_key" TEXT NOT NULL,
    "external_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "directory_groups_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "directory_groups_display_name_key_key" ON "directory_groups"("display_name_key");

CREATE TABLE "directory_members" (
    "group_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "directory_members_pkey" PRIMARY KEY ("group_id","user_id")
);
CREATE INDEX "directory_members_user_id_idx" ON "directory_members"("user_id");
ALTER TABLE "directory_members" ADD CONSTRAINT "directory_members_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "directory_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "directory_members" ADD CONSTRAINT "directory_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "directory_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
