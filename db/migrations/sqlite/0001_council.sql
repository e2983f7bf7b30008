CREATE TABLE `agents` (
	`name` text PRIMARY KEY NOT NULL,
	`description` text NOT NULL,
	`persona` text NOT NULL,
	`model` text NOT NULL,
	`temperature` real NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `palettes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`agent_names` text NOT NULL,
	`chair` text NOT NULL,
	`price_cents` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stage_outputs` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`session_id` text,
	`job_id` text NOT NULL,
	`stage` text NOT NULL,
	`agent` text NOT NULL,
	`status` text NOT NULL,
	`content` text,
	`data` text,
	`error` text,
	`model` text,
	`tokens_in` integer NOT NULL,
	`tokens_out` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stage_outputs_run_stage_agent_uq` ON `stage_outputs` (`run_id`,`stage`,`agent`);--> statement-breakpoint
CREATE INDEX `stage_outputs_session_idx` ON `stage_outputs` (`session_id`);--> statement-breakpoint
CREATE INDEX `stage_outputs_created_at_idx` ON `stage_outputs` (`created_at`);