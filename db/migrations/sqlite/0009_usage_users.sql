CREATE TABLE `usage_users` (
	`user_id` text PRIMARY KEY NOT NULL,
	`first_day` text NOT NULL,
	`last_day` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_users_last_day_idx` ON `usage_users` (`last_day`);