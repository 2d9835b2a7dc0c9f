package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

func TestHashSlotsFor(t *testing.T) {
	const mib = 1 << 20
	per := int64(models.DefaultHasher.Memory) * 1024 // 19 MiB
	cases := []struct {
		name string
		mem  int64
		want int
	}{
		{"an unknown memory gets the floor", 0, models.HashSlotsMin},
		{"256 MiB gets the floor (an eighth is 32 MiB, one hash)", 256 * mib, models.HashSlotsMin},
		{"1 GiB gets an eighth divided by 19 MiB: 6", 1024 * mib, 6},
		{"2 GiB gets 13", 2048 * mib, 13},
		{"24 GiB gets the ceiling", 24 * 1024 * mib, models.HashSlotsMax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := models.HashSlotsFor(c.mem, per); got != c.want {
				t.Fatalf("HashSlotsFor(%d MiB) = %d, want %d", c.mem/mib, got, c.want)
			}
		})
	}
	t.Run("this machine's memory limit is found", func(t *testing.T) {
		if models.MemoryLimit() <= 0 {
			t.Fatal("MemoryLimit() found no memory figure")
		}
	})
}

func TestHashGate(t *testing.T) {
	g := models.NewHashGate(2, time.Millisecond)
	r1, err1 := g.Acquire(context.Background())
	r2, err2 := g.Acquire(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatalf("two slots of two: %v, %v", err1, err2)
	}
	_, err := g.Acquire(context.Background())
	var busy *models.HashBusyError
	if !errors.As(err, &busy) || busy.RetryAfter <= 0 {
		t.Fatalf("a third while two are taken: %v, want *HashBusyError with a wait", err)
	}
	r1()
	r1() // a second release gives back nothing more
	r3, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := g.Acquire(context.Background()); err == nil {
		t.Fatal("a double release freed a second slot")
	}
	r2()
	r3()
	if g.Peak() != 2 || g.Bound() != 2 {
		t.Fatalf("peak %d, bound %d; want 2, 2", g.Peak(), g.Bound())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g2 := models.NewHashGate(1, time.Hour)
	r, _ := g2.Acquire(context.Background())
	defer r()
	if _, err := g2.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v, want context.Canceled", err)
	}
}
