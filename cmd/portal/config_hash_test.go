package main

import (
	"strings"
	"testing"
)

func TestLoadConfigHashConcurrency(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.HashConcurrency != 0 {
		t.Fatalf("default: %d, %v; want 0 (sized from memory)", c.HashConcurrency, err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_HASH_CONCURRENCY": "3"}))
	if err != nil || c.HashConcurrency != 3 {
		t.Fatalf("PORTAL_HASH_CONCURRENCY=3: %d, %v", c.HashConcurrency, err)
	}
	for _, v := range []string{"0", "257", "lots"} {
		if _, err := loadConfig(env(map[string]string{"PORTAL_HASH_CONCURRENCY": v})); err == nil || !strings.Contains(err.Error(), "PORTAL_HASH_CONCURRENCY") {
			t.Errorf("PORTAL_HASH_CONCURRENCY=%s: error %v, want one naming it", v, err)
		}
	}
}
