package models_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// addHookEndpoint inserts a webhook endpoint of orgID subscribed to
// events straight into its table (the endpoints' own Store methods are
// not needed to see which events are written).
func addHookEndpoint(t testing.TB, g *gorm.DB, orgID int64, enabled bool, events ...string) {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	now := time.Now().UTC()
	if err := g.Table("webhook_endpoints").Create(map[string]any{"org_id": orgID, "ref": hex.EncodeToString(b),
		"url": "https://hooks.example.test/in", "description": "", "secret": "sealed", "events": strings.Join(events, ","),
		"enabled": enabled, "failures": 0, "disabled_reason": "", "created_at": now, "updated_at": now}).Error; err != nil {
		t.Fatal(err)
	}
}
