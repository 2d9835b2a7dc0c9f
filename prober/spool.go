package prober

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/colo-portal/portal/models"
)

// spool keeps probe results the database would not take, until it does.
type spool interface {
	// Append stores results durably.
	Append(rs []models.ProbeResult) error
	// Replay hands the stored results to write in order, chunk by chunk,
	// and forgets each chunk write accepted. It stops at the first error,
	// keeping that chunk and the rest.
	Replay(chunk int, write func([]models.ProbeResult) error) (int, error)
	// Len is how many bytes (file) or results (memory) wait.
	Len() int64
	Name() string
	Close() error
}

// spoolLine is one result as a JSON line: short keys, the time in Unix
// milliseconds (results are taken to the millisecond).
type spoolLine struct {
	Check  int64  `json:"c"`
	At     int64  `json:"t"`
	OK     bool   `json:"ok,omitempty"`
	RTTus  int    `json:"rtt,omitempty"`
	Reason string `json:"r,omitempty"`
}

// maxSpoolSiblings bounds the spool files tried when another process on the
// same host already holds the configured one (two instances sharing a data
// directory): path, path.1, … path.7.
const maxSpoolSiblings = 8

// fileSpool is an append-only file of JSON lines, fsync'd on every append
// and locked (flock) for the life of the process. Replayed lines are
// skipped by offset until the whole file has been replayed, then the file is
// truncated: the file is only ever appended to or emptied, so a crash leaves
// at worst a torn last line, and replaying a line twice stores it once.
type fileSpool struct {
	f    *os.File
	path string
	size int64 // bytes in the file
	done int64 // bytes already replayed by this process
}

// openFileSpool opens (creating) path or the first free sibling.
func openFileSpool(path string) (*fileSpool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	var lastErr error
	for i := range maxSpoolSiblings {
		p := path
		if i > 0 {
			p += "." + strconv.Itoa(i)
		}
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			lastErr = fmt.Errorf("%s is locked by another process: %w", p, err)
			continue
		}
		s := &fileSpool{f: f, path: p}
		if err := s.repairTail(); err != nil {
			f.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, lastErr
}

// repairTail ends a torn last line (a crash mid-append) so that the next
// append starts a line of its own; the torn line is skipped on replay.
func (s *fileSpool) repairTail() error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	s.size = st.Size()
	if s.size == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := s.f.ReadAt(last, s.size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	n, err := s.f.Write([]byte{'\n'})
	s.size += int64(n)
	if err != nil {
		return err
	}
	return s.f.Sync()
}

func (s *fileSpool) Name() string { return s.path }

func (s *fileSpool) Len() int64 { return s.size - s.done }

func (s *fileSpool) Append(rs []models.ProbeResult) error {
	if len(rs) == 0 {
		return nil
	}
	buf := make([]byte, 0, len(rs)*64)
	for _, r := range rs {
		b, err := json.Marshal(spoolLine{Check: r.CheckID, At: r.At.UnixMilli(), OK: r.OK, RTTus: r.RTTus, Reason: r.Reason})
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	n, err := s.f.Write(buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("prober: append to spool %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("prober: sync spool %s: %w", s.path, err)
	}
	return nil
}

// Replay reads from the first byte not yet replayed. A line that does not
// parse (a torn line after a crash) is skipped.
func (s *fileSpool) Replay(chunk int, write func([]models.ProbeResult) error) (int, error) {
	if s.Len() <= 0 {
		return 0, nil
	}
	sc := bufio.NewScanner(io.NewSectionReader(s.f, s.done, s.size-s.done))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var (
		batch    []models.ProbeResult
		pos      = s.done // end of the lines read so far
		replayed int
	)
	flush := func() error {
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				return err
			}
			replayed += len(batch)
			batch = batch[:0]
		}
		s.done = pos
		return nil
	}
	for sc.Scan() {
		line := sc.Bytes()
		pos += int64(len(line)) + 1
		var l spoolLine
		if err := json.Unmarshal(line, &l); err != nil || l.Check == 0 {
			continue
		}
		batch = append(batch, models.ProbeResult{CheckID: l.Check, At: time.UnixMilli(l.At).UTC(), OK: l.OK, RTTus: l.RTTus, Reason: l.Reason})
		if len(batch) >= chunk {
			if err := flush(); err != nil {
				return replayed, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return replayed, fmt.Errorf("prober: read spool %s: %w", s.path, err)
	}
	if err := flush(); err != nil {
		return replayed, err
	}
	if s.done < s.size {
		return replayed, nil // appended meanwhile (cannot happen: one writer)
	}
	if err := s.f.Truncate(0); err != nil {
		return replayed, fmt.Errorf("prober: empty spool %s: %w", s.path, err)
	}
	s.size, s.done = 0, 0
	return replayed, s.f.Sync()
}

func (s *fileSpool) Close() error { return s.f.Close() } // closing releases the lock

// memSpool holds results in memory when no spool file is configured (or it
// cannot be opened): they survive a database outage but not a restart.
type memSpool struct {
	rs  []models.ProbeResult
	max int
}

func (m *memSpool) Name() string { return "memory" }

func (m *memSpool) Len() int64 { return int64(len(m.rs)) }

func (m *memSpool) Append(rs []models.ProbeResult) error {
	if len(m.rs)+len(rs) > m.max {
		return fmt.Errorf("prober: memory spool full (%d results)", m.max)
	}
	m.rs = append(m.rs, rs...)
	return nil
}

func (m *memSpool) Replay(chunk int, write func([]models.ProbeResult) error) (int, error) {
	n := 0
	for len(m.rs) > 0 {
		k := min(chunk, len(m.rs))
		if err := write(m.rs[:k]); err != nil {
			return n, err
		}
		m.rs = m.rs[k:]
		n += k
	}
	m.rs = nil
	return n, nil
}

func (m *memSpool) Close() error { return nil }
