CREATE TABLE `roadmap_items` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`phase` text NOT NULL,
	`status` text NOT NULL,
	`position` integer NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `roadmap_items_phase_position_idx` ON `roadmap_items` (`phase`,`position`,`id`);--> statement-breakpoint
CREATE INDEX `roadmap_items_status_idx` ON `roadmap_items` (`status`);--> statement-breakpoint
CREATE TABLE `ticket_comments` (
	`id` text PRIMARY KEY NOT NULL,
	`ticket_id` text NOT NULL,
	`author_id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ticket_comments_ticket_idx` ON `ticket_comments` (`ticket_id`,`id`);--> statement-breakpoint
CREATE TABLE `tickets` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`kind` text NOT NULL,
	`status` text NOT NULL,
	`priority` text NOT NULL,
	`public` integer NOT NULL,
	`roadmap_item_id` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tickets_created_by_idx` ON `tickets` (`created_by`,`id`);--> statement-breakpoint
CREATE INDEX `tickets_public_idx` ON `tickets` (`public`,`id`);--> statement-breakpoint
CREATE INDEX `tickets_roadmap_item_idx` ON `tickets` (`roadmap_item_id`);