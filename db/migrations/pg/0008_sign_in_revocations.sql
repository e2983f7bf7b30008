CREATE TABLE "sign_in_revocations" (
	"subject" text PRIMARY KEY NOT NULL,
	"revoked_at" timestamp with time zone NOT NULL
);
