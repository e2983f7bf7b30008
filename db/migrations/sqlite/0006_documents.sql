CREATE TABLE `documents` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`user_id` text NOT NULL,
	`storage_key` text NOT NULL,
	`filename` text NOT NULL,
	`mime` text NOT NULL,
	`kind` text NOT NULL,
	`bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`status` text NOT NULL,
	`pages` integer,
	`pages_done` integer NOT NULL,
	`chars` integer,
	`error` text,
	`job_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `documents_session_idx` ON `documents` (`session_id`,`id`);--> statement-breakpoint
CREATE INDEX `documents_user_idx` ON `documents` (`user_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `documents_storage_key_uq` ON `documents` (`storage_key`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `web_search` integer DEFAULT false NOT NULL;