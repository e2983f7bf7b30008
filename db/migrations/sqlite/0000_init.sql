CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`actor_id` text,
	`actor` text,
	`role` text,
	`action` text NOT NULL,
	`target` text,
	`session_id` text,
	`job_id` text,
	`request_id` text,
	`ip` text,
	`metadata` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_at_idx` ON `audit_events` (`at`);--> statement-breakpoint
CREATE INDEX `audit_events_actor_idx` ON `audit_events` (`actor`);--> statement-breakpoint
CREATE INDEX `audit_events_action_idx` ON `audit_events` (`action`);--> statement-breakpoint
CREATE TABLE `job_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`ts` integer NOT NULL,
	`level` text NOT NULL,
	`msg` text NOT NULL,
	`request_id` text,
	`stage` text,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `job_logs_job_id_idx` ON `job_logs` (`job_id`,`id`);--> statement-breakpoint
CREATE INDEX `job_logs_ts_idx` ON `job_logs` (`ts`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`user_id` text NOT NULL,
	`session_id` text,
	`status` text NOT NULL,
	`stage` text,
	`progress` integer NOT NULL,
	`request_id` text,
	`role` text,
	`idempotency_key` text,
	`input` text,
	`output` text,
	`error` text,
	`attempts` integer NOT NULL,
	`cancel_requested` integer NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`heartbeat_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_idempotency_uq` ON `jobs` (`user_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `jobs_session_id_idx` ON `jobs` (`session_id`);--> statement-breakpoint
CREATE INDEX `jobs_status_idx` ON `jobs` (`status`);--> statement-breakpoint
CREATE TABLE `role_bindings` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `role_bindings_user_role_uq` ON `role_bindings` (`user_id`,`role`);--> statement-breakpoint
CREATE INDEX `role_bindings_role_idx` ON `role_bindings` (`role`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`question` text NOT NULL,
	`palette_id` text NOT NULL,
	`status` text NOT NULL,
	`stage` text,
	`partial` integer NOT NULL,
	`tokens_in` integer NOT NULL,
	`tokens_out` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `sessions_user_id_idx` ON `sessions` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_created_at_idx` ON `sessions` (`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`external_id` text NOT NULL,
	`email` text NOT NULL,
	`display_name` text,
	`created_at` integer NOT NULL,
	`last_seen_at` integer,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_external_id_uq` ON `users` (`external_id`);