-- Custom SQL migration file, put your code below! --
INSERT INTO `users` (`name`, `email`) VALUES ('Ada', 'ada@example.com');--> statement-breakpoint
INSERT INTO `tags` (`user_id`, `label`) VALUES (1, 'admin'), (1, 'beta');
