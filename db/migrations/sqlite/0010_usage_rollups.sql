CREATE TABLE `usage_rollups` (
	`id` text PRIMARY KEY NOT NULL,
	`grain` text NOT NULL,
	`bucket` text NOT NULL,
	`kind` text NOT NULL,
	`dim` text NOT NULL,
	`key` text NOT NULL,
	`count` integer NOT NULL,
	`errors` integer NOT NULL,
	`client_errors` integer NOT NULL,
	`tokens_in` integer NOT NULL,
	`tokens_out` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`h0` integer DEFAULT 0 NOT NULL,
	`h1` integer DEFAULT 0 NOT NULL,
	`h2` integer DEFAULT 0 NOT NULL,
	`h3` integer DEFAULT 0 NOT NULL,
	`h4` integer DEFAULT 0 NOT NULL,
	`h5` integer DEFAULT 0 NOT NULL,
	`h6` integer DEFAULT 0 NOT NULL,
	`h7` integer DEFAULT 0 NOT NULL,
	`h8` integer DEFAULT 0 NOT NULL,
	`h9` integer DEFAULT 0 NOT NULL,
	`h10` integer DEFAULT 0 NOT NULL,
	`h11` integer DEFAULT 0 NOT NULL,
	`h12` integer DEFAULT 0 NOT NULL,
	`h13` integer DEFAULT 0 NOT NULL,
	`h14` integer DEFAULT 0 NOT NULL,
	`h15` integer DEFAULT 0 NOT NULL,
	`h16` integer DEFAULT 0 NOT NULL,
	`h17` integer DEFAULT 0 NOT NULL,
	`h18` integer DEFAULT 0 NOT NULL,
	`h19` integer DEFAULT 0 NOT NULL,
	`h20` integer DEFAULT 0 NOT NULL,
	`h21` integer DEFAULT 0 NOT NULL,
	`h22` integer DEFAULT 0 NOT NULL,
	`h23` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_rollups_scan_idx` ON `usage_rollups` (`grain`,`bucket`,`kind`,`dim`);--> statement-breakpoint
CREATE TABLE `usage_user_days` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`day` text NOT NULL,
	`events` integer NOT NULL,
	`tokens` integer NOT NULL,
	`cost_micro_usd` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_user_days_day_idx` ON `usage_user_days` (`day`,`user_id`);--> statement-breakpoint
CREATE TABLE `usage_users` (
	`user_id` text PRIMARY KEY NOT NULL,
	`first_day` text NOT NULL,
	`last_day` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_users_last_day_idx` ON `usage_users` (`last_day`);