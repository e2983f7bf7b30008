CREATE TABLE `budget_reservations` (
	`job_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`kind` text NOT NULL,
	`roles` text,
	`tokens_reserved` integer NOT NULL,
	`cost_reserved_micro_usd` integer NOT NULL,
	`tokens_used` integer NOT NULL,
	`cost_used_micro_usd` integer NOT NULL,
	`calls` integer NOT NULL,
	`created_at` integer NOT NULL,
	`settled_at` integer
);
--> statement-breakpoint
CREATE INDEX `budget_reservations_user_idx` ON `budget_reservations` (`user_id`,`day`);--> statement-breakpoint
CREATE TABLE `budget_usage` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`tokens_used` integer NOT NULL,
	`tokens_held` integer NOT NULL,
	`cost_used_micro_usd` integer NOT NULL,
	`cost_held_micro_usd` integer NOT NULL,
	`alerts_sent` integer NOT NULL,
	`roles` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `budget_usage_user_day_uq` ON `budget_usage` (`user_id`,`day`);--> statement-breakpoint
CREATE INDEX `budget_usage_day_idx` ON `budget_usage` (`day`,`id`);--> statement-breakpoint
CREATE TABLE `limits` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`subject` text NOT NULL,
	`daily_tokens` integer,
	`daily_cost_micro_usd` integer,
	`updated_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `limits_scope_subject_uq` ON `limits` (`scope`,`subject`);