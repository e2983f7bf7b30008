CREATE TABLE "incident_updates" (
	"id" text PRIMARY KEY NOT NULL,
	"incident_id" text NOT NULL,
	"status" text NOT NULL,
	"message" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"created_by" text
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"kind" text NOT NULL,
	"impact" text NOT NULL,
	"components" text NOT NULL,
	"status" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_days" (
	"id" text PRIMARY KEY NOT NULL,
	"component" text NOT NULL,
	"day" text NOT NULL,
	"samples" integer NOT NULL,
	"up" integer NOT NULL,
	"degraded" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_samples" (
	"id" text PRIMARY KEY NOT NULL,
	"component" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"latency_ms" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "incident_updates_incident_idx" ON "incident_updates" USING btree ("incident_id","at");--> statement-breakpoint
CREATE INDEX "incidents_starts_idx" ON "incidents" USING btree ("starts_at");--> statement-breakpoint
CREATE INDEX "status_days_day_idx" ON "status_days" USING btree ("day");--> statement-breakpoint
CREATE INDEX "status_samples_at_idx" ON "status_samples" USING btree ("at");