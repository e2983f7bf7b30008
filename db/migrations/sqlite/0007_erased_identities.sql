CREATE TABLE `erased_identities` (
	`subject` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL
);
