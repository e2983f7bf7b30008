CREATE TABLE "budget_reservations" (
	"job_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"day" text NOT NULL,
	"kind" text NOT NULL,
	"roles" jsonb,
	"tokens_reserved" bigint NOT NULL,
	"cost_reserved_micro_usd" bigint NOT NULL,
	"tokens_used" bigint NOT NULL,
	"cost_used_micro_usd" bigint NOT NULL,
	"calls" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "budget_usage" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"day" text NOT NULL,
	"tokens_used" bigint NOT NULL,
	"tokens_held" bigint NOT NULL,
	"cost_used_micro_usd" bigint NOT NULL,
	"cost_held_micro_usd" bigint NOT NULL,
	"alerts_sent" integer NOT NULL,
	"roles" jsonb,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "limits" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"subject" text NOT NULL,
	"daily_tokens" bigint,
	"daily_cost_micro_usd" bigint,
	"updated_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "budget_reservations_user_idx" ON "budget_reservations" USING btree ("user_id","day");--> statement-breakpoint
CREATE UNIQUE INDEX "budget_usage_user_day_uq" ON "budget_usage" USING btree ("user_id","day");--> statement-breakpoint
CREATE INDEX "budget_usage_day_idx" ON "budget_usage" USING btree ("day","id");--> statement-breakpoint
CREATE UNIQUE INDEX "limits_scope_subject_uq" ON "limits" USING btree ("scope","subject");