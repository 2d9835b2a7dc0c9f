// Package prober will ping customer devices and check their services,
// write results in batches, detect outages and keep rollups (issue 3). It
// talks to the database only through models and never imports fiber.
package prober
