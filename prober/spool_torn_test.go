package prober

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/colo-portal/portal/models"
)

// withFileSizeLimit runs f with the process's file size limit set to limit
// bytes: a write past it writes what fits and fails with EFBIG, as a full
// disk does (Go ignores the SIGXFSZ that comes with it). The limit is the
// whole process's, so the test that uses it must not run in parallel.
func withFileSizeLimit(t *testing.T, limit int64, f func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(limit), Max: old.Max}); err != nil {
		t.Skipf("cannot lower the file size limit: %v", err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	f()
}

func sameResult(a, b models.ProbeResult) bool {
	return a.CheckID == b.CheckID && a.At.Equal(b.At) && a.OK == b.OK && a.RTTus == b.RTTus && a.Reason == b.Reason
}

// A write that fails part-way (a full disk) loses only the results it did
// not store: the next append is whole, the results before are whole, and
// the number reported lost is exactly the number that never comes back,
// wherever the write is cut.
func TestSpoolTornWriteLosesOnlyItself(t *testing.T) {
	all := spoolResults(12)
	a, b, c := all[:4], all[4:8], all[8:]
	for cut := int64(1); cut < 400; cut += 3 {
		path := filepath.Join(t.TempDir(), "prober.spool")
		sp, err := openFileSpool(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Append(a); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Through the writer, which keeps the count of results lost.
		w := &writer{spool: sp, stats: &counters{}, log: slog.New(slog.DiscardHandler)}
		withFileSizeLimit(t, st.Size()+cut, func() { w.toSpool(b) })
		w.toSpool(c)
		var got []models.ProbeResult
		if _, err := sp.Replay(100, func(rs []models.ProbeResult) error { got = append(got, rs...); return nil }); err != nil {
			t.Fatalf("cut %d: replay: %v", cut, err)
		}
		w.noteTorn()
		sp.Close()
		kept := len(got) - len(a) - len(c)
		if kept < 0 || kept > len(b) {
			t.Errorf("cut %d: replayed %d results, want %d of the first append, %d of the last and up to %d of the failed one",
				cut, len(got), len(a), len(c), len(b))
			continue
		}
		want := append(append(append([]models.ProbeResult{}, a...), b[:kept]...), c...)
		for i := range want {
			if !sameResult(got[i], want[i]) {
				t.Errorf("cut %d: result %d = %+v, want %+v", cut, i, got[i], want[i])
				break
			}
		}
		if lost := w.stats.lost.Load(); lost != int64(len(b)-kept) {
			t.Errorf("cut %d: %d results reported lost, but %d never came back", cut, lost, len(b)-kept)
		}
		if spooled := w.stats.spooled.Load(); spooled != int64(len(got)-len(a)) {
			t.Errorf("cut %d: %d results reported spooled, %d came back", cut, spooled, len(got)-len(a))
		}
	}
}

// replayAll replays the whole spool and returns what came back.
func replayAll(t *testing.T, sp *fileSpool) []models.ProbeResult {
	t.Helper()
	var got []models.ProbeResult
	if _, err := sp.Replay(3, func(rs []models.ProbeResult) error { got = append(got, rs...); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func wantResults(t *testing.T, got, want []models.ProbeResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !sameResult(got[i], want[i]) {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// A crash leaves a torn record at the end, or (after a restart that goes on
// appending) in the middle; a damaged byte spoils one record. Replay skips
// each alone and counts it once.
func TestSpoolSkipsTornRecordsAlone(t *testing.T) {
	rs := spoolResults(9)
	whole, err := appendRecord(nil, rs[8])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		torn string // what the crash or the damage left
	}{
		{"cut in the header", string(whole[:7])},
		{"cut in the JSON", string(whole[:len(whole)-9])},
		{"only the newline missing", string(whole[:len(whole)-1])},
		{"a damaged byte", string(whole[:20]) + "X" + string(whole[21:])},
		{"a length past the end", "\x1effff00000000 {}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prober.spool")
			sp, err := openFileSpool(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := sp.Append(rs[:3]); err != nil {
				t.Fatal(err)
			}
			sp.Close()
			appendRaw(t, path, tc.torn) // the crash
			if sp, err = openFileSpool(path); err != nil {
				t.Fatal(err)
			}
			defer sp.Close()

			// At the end: only the torn record is missing.
			atEnd := replayAll(t, sp)
			wantResults(t, atEnd, rs[:3])
			if sp.Torn() != 1 {
				t.Errorf("torn records counted at the end = %d, want 1", sp.Torn())
			}

			// In the middle: the restarted process appends after it.
			if err := sp.Append(rs[3:5]); err != nil {
				t.Fatal(err)
			}
			sp.Close()
			appendRaw(t, path, tc.torn)
			if sp, err = openFileSpool(path); err != nil {
				t.Fatal(err)
			}
			if err := sp.Append(rs[5:8]); err != nil {
				t.Fatal(err)
			}
			wantResults(t, replayAll(t, sp), rs[3:8])
			if sp.Torn() != 1 {
				t.Errorf("torn records counted in the middle = %d, want 1", sp.Torn())
			}
		})
	}
}

// A spool written before records were framed (plain JSON lines, perhaps a
// torn last line) still replays, and what is appended after it too.
func TestSpoolReplaysFilesFromBeforeFraming(t *testing.T) {
	rs := spoolResults(6)
	path := filepath.Join(t.TempDir(), "prober.spool")
	old := ""
	for _, r := range rs[:3] {
		old += fmt.Sprintf(`{"c":%d,"t":%d`, r.CheckID, r.At.UnixMilli())
		if r.OK {
			old += `,"ok":true`
		}
		if r.RTTus != 0 {
			old += fmt.Sprintf(`,"rtt":%d`, r.RTTus)
		}
		if r.Reason != "" {
			old += fmt.Sprintf(`,"r":%q`, r.Reason)
		}
		old += "}\n"
	}
	old += `{"c":2,"t":17` // the old writer's torn last line
	appendRaw(t, path, old)
	sp, err := openFileSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Append(rs[3:]); err != nil {
		t.Fatal(err)
	}
	wantResults(t, replayAll(t, sp), rs)
	if sp.Torn() != 1 {
		t.Errorf("torn records counted = %d, want 1 (the torn old line)", sp.Torn())
	}
}
