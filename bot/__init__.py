"""The process: config, CLI, Slack app, HTTP server, console, leader election."""
