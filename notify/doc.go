// Package notify will dispatch outbox events to email, webhook and staff
// call tasks (issue 4). It never imports fiber.
package notify
