package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigProber(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || !c.Prober || c.ProberWorkers != 64 {
		t.Fatalf("defaults: prober %v, workers %d, %v; want on with 64", c.Prober, c.ProberWorkers, err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_PROBER": "OFF", "PORTAL_PROBER_WORKERS": "200"}))
	if err != nil || c.Prober || c.ProberWorkers != 200 {
		t.Fatalf("off with 200 workers: prober %v, workers %d, %v", c.Prober, c.ProberWorkers, err)
	}
	for _, e := range []map[string]string{{"PORTAL_PROBER": "maybe"}, {"PORTAL_PROBER_WORKERS": "0"}, {"PORTAL_PROBER_WORKERS": "many"}} {
		for k := range e {
			if _, err := loadConfig(env(e)); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%v: error %v, want one naming %s", e, err, k)
			}
		}
	}
}

func TestLoadConfigProberBatch(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.ProberBatch != 5000 || c.ProberBatchAge != 5*time.Second {
		t.Fatalf("defaults: batch %d, age %v, %v; want 5000 and 5s", c.ProberBatch, c.ProberBatchAge, err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_PROBER_BATCH": "20000", "PORTAL_PROBER_BATCH_AGE": "2s"}))
	if err != nil || c.ProberBatch != 20000 || c.ProberBatchAge != 2*time.Second {
		t.Fatalf("20000 and 2s: batch %d, age %v, %v", c.ProberBatch, c.ProberBatchAge, err)
	}
	for _, e := range []map[string]string{{"PORTAL_PROBER_BATCH": "10"}, {"PORTAL_PROBER_BATCH": "lots"},
		{"PORTAL_PROBER_BATCH_AGE": "10s"}, {"PORTAL_PROBER_BATCH_AGE": "10ms"}, {"PORTAL_PROBER_BATCH_AGE": "soon"}} {
		for k := range e {
			if _, err := loadConfig(env(e)); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%v: error %v, want one naming %s", e, err, k)
			}
		}
	}
}
