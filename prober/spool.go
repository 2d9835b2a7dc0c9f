package prober

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/colo-portal/portal/models"
)

// spoolOf keeps records the database would not take, until it does: probe
// results (spool) and traffic samples (sampleSpool), each in a spool of
// its own.
type spoolOf[T any] interface {
	// Append stores records durably.
	Append(rs []T) error
	// Replay hands the stored records to write in order, chunk by chunk,
	// and forgets each chunk write accepted. It stops at the first error,
	// keeping that chunk and the rest.
	Replay(chunk int, write func([]T) error) (int, error)
	// Len is how many bytes (file) or records (memory) wait.
	Len() int64
	// Torn counts the damaged records replays have skipped so far.
	Torn() int64
	Name() string
	Close() error
}

// spool keeps probe results.
type spool = spoolOf[models.ProbeResult]

// recordCodec is how a spool writes its records as JSON and reads them
// back; decode reports false for what is not a whole record.
type recordCodec[T any] struct {
	encode func(T) ([]byte, error)
	decode func([]byte) (T, bool)
}

// spoolLine is one result as JSON: short keys, the time in Unix
// milliseconds (results are taken to the millisecond).
type spoolLine struct {
	Check  int64  `json:"c"`
	At     int64  `json:"t"`
	OK     bool   `json:"ok,omitempty"`
	RTTus  int    `json:"rtt,omitempty"`
	Reason string `json:"r,omitempty"`
}

// A spool record is one result, framed so that a torn one (a full disk, a
// crash mid-write) is found and skipped alone:
//
//	0x1E, length of the JSON (4 hex digits), its CRC-32C (8 hex digits),
//	' ', the JSON, '\n'
//
// 0x1E (ASCII record separator) never appears inside JSON (encoding/json
// escapes control characters), so after a bad record the reader looks
// for the next 0x1E and goes on from there. Files written before records
// were framed hold plain JSON lines; they replay too (a line is read up to
// its newline or the next 0x1E, whichever comes first).
const (
	recordMark   = 0x1e
	recordHeader = 1 + 4 + 8 + 1 // mark, length, checksum, space
	maxRecordLen = 0xffff
)

var spoolCRC = crc32.MakeTable(crc32.Castagnoli)

// resultCodec writes probe results as spoolLines.
var resultCodec = recordCodec[models.ProbeResult]{
	encode: func(r models.ProbeResult) ([]byte, error) {
		return json.Marshal(spoolLine{Check: r.CheckID, At: r.At.UnixMilli(), OK: r.OK, RTTus: r.RTTus, Reason: r.Reason})
	},
	decode: func(b []byte) (models.ProbeResult, bool) {
		var l spoolLine
		if err := json.Unmarshal(b, &l); err != nil || l.Check == 0 {
			return models.ProbeResult{}, false
		}
		return l.result(), true
	},
}

// appendRecord adds r's record to buf.
func appendRecord(buf []byte, r models.ProbeResult) ([]byte, error) {
	return appendFramed(buf, resultCodec, r)
}

// appendFramed adds the record of r to buf.
func appendFramed[T any](buf []byte, codec recordCodec[T], r T) ([]byte, error) {
	b, err := codec.encode(r)
	if err != nil {
		return buf, err
	}
	if len(b) > maxRecordLen {
		return buf, fmt.Errorf("prober: spool record of %d bytes", len(b))
	}
	buf = append(buf, recordMark)
	buf = fmt.Appendf(buf, "%04x%08x ", len(b), crc32.Checksum(b, spoolCRC))
	buf = append(append(buf, b...), '\n')
	return buf, nil
}

func (l spoolLine) result() models.ProbeResult {
	return models.ProbeResult{CheckID: l.Check, At: time.UnixMilli(l.At).UTC(), OK: l.OK, RTTus: l.RTTus, Reason: l.Reason}
}

// AppendError is a failed append: Kept results were stored whole and will
// be replayed, Lost ones never will. Kept+Lost is what was appended.
type AppendError struct {
	Kept, Lost int
	Err        error
}

func (e *AppendError) Error() string {
	return fmt.Sprintf("%v (%d results kept, %d lost)", e.Err, e.Kept, e.Lost)
}

func (e *AppendError) Unwrap() error { return e.Err }

// spoolLost is how many of the n results a failed Append lost.
func spoolLost(err error, n int) int {
	if err == nil {
		return 0
	}
	var ae *AppendError
	if errors.As(err, &ae) {
		return ae.Lost
	}
	return n
}

// maxSpoolSiblings bounds the spool files tried when another process on the
// same host already holds the configured one (two instances sharing a data
// directory): path, path.1, … path.7.
const maxSpoolSiblings = 8

// recordFile is an append-only file of framed records, fsync'd on every
// append and locked (flock) for the life of the process. Replayed records
// are skipped by offset until the whole file has been replayed, then the
// file is truncated: the file is only ever appended to or emptied, so a
// crash leaves at worst a torn last record, and replaying a record twice
// stores it once. An append that fails part-way (a full disk) cuts the file
// back to its last whole record; if even that fails, the torn record stays
// and replay skips it.
type recordFile[T any] struct {
	codec recordCodec[T]
	f     *os.File
	path  string
	size  int64 // bytes in the file
	done  int64 // bytes already replayed by this process
	// tornLeft counts torn records an append left in the file (the cut
	// back failed): they were reported lost then, so replay does not
	// report them again.
	tornLeft int
	torn     int64 // torn records skipped by replay, reported by Torn
}

// fileSpool is the file spool of probe results.
type fileSpool = recordFile[models.ProbeResult]

// openFileSpool opens (creating) path or the first free sibling, as a
// spool of probe results.
func openFileSpool(path string) (*fileSpool, error) { return openRecordFile(path, resultCodec) }

// openRecordFile opens (creating) path or the first free sibling.
func openRecordFile[T any](path string, codec recordCodec[T]) (*recordFile[T], error) {
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
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &recordFile[T]{codec: codec, f: f, path: p, size: st.Size()}, nil
	}
	return nil, lastErr
}

func (s *recordFile[T]) Name() string { return s.path }

func (s *recordFile[T]) Len() int64 { return s.size - s.done }

// Torn is how many torn or damaged records replay has skipped so far, each
// one result lost (those a failed append already reported are not counted).
func (s *recordFile[T]) Torn() int64 { return s.torn }

func (s *recordFile[T]) Append(rs []T) error {
	if len(rs) == 0 {
		return nil
	}
	buf := make([]byte, 0, len(rs)*72)
	ends := make([]int, len(rs)) // where each record ends in buf
	for i, r := range rs {
		var err error
		if buf, err = appendFramed(buf, s.codec, r); err != nil {
			return err
		}
		ends[i] = len(buf)
	}
	start := s.size
	n, err := s.f.Write(buf)
	s.size += int64(n)
	if err != nil {
		kept := sort.SearchInts(ends, n+1) // records wholly written: those ending at or before n
		lost := len(rs) - kept
		whole := start
		if kept > 0 {
			whole += int64(ends[kept-1])
		}
		if s.size > whole {
			// Cut the torn record off; truncating needs no space.
			if terr := s.f.Truncate(whole); terr == nil {
				s.size = whole
			} else {
				s.tornLeft++ // replay finds it and skips it silently
			}
		}
		if kept > 0 {
			// A failed sync leaves them in the file this process replays;
			// only a crash of the host could still lose them.
			_ = s.f.Sync()
		}
		return &AppendError{Kept: kept, Lost: lost, Err: fmt.Errorf("prober: append to spool %s: %w", s.path, err)}
	}
	if err := s.f.Sync(); err != nil {
		// In the file, not known to be on the disk: kept for this process.
		return &AppendError{Kept: len(rs), Err: fmt.Errorf("prober: sync spool %s: %w", s.path, err)}
	}
	return nil
}

// spoolReader reads records from a section of the spool file, counting the
// bytes it has consumed.
type spoolReader[T any] struct {
	decode    func([]byte) (T, bool)
	r         *bufio.Reader
	pos       int64 // offset of the next unread byte
	lineStart bool  // the previous byte ended a line (or the file began)
	torn      int   // damaged records skipped
}

// next returns the next whole record, skipping torn ones; io.EOF at the end.
func (sr *spoolReader[T]) next() (T, error) {
	for {
		b, err := sr.r.ReadByte()
		if err != nil {
			var zero T
			return zero, err
		}
		sr.pos++
		switch {
		case b == recordMark:
			sr.lineStart = false
			if r, ok := sr.framed(); ok {
				return r, nil
			}
			sr.torn++ // go on from the byte after its mark
		case b == '\n':
			sr.lineStart = true
		case b == '{' && sr.lineStart:
			if r, ok := sr.legacyLine(); ok {
				return r, nil
			}
			sr.torn++
		default:
			sr.lineStart = false // the rest of a damaged record
		}
	}
}

// framed reads the record whose mark was just read; it consumes nothing
// when the record is damaged.
func (sr *spoolReader[T]) framed() (T, bool) {
	var zero T
	h, _ := sr.r.Peek(recordHeader - 1)
	if len(h) < recordHeader-1 || h[recordHeader-2] != ' ' {
		return zero, false
	}
	n, err1 := strconv.ParseUint(string(h[:4]), 16, 32)
	sum, err2 := strconv.ParseUint(string(h[4:12]), 16, 32)
	if err1 != nil || err2 != nil {
		return zero, false
	}
	whole := recordHeader - 1 + int(n) + 1
	rec, _ := sr.r.Peek(whole)
	if len(rec) < whole || rec[whole-1] != '\n' {
		return zero, false
	}
	payload := rec[recordHeader-1 : whole-1]
	if crc32.Checksum(payload, spoolCRC) != uint32(sum) {
		return zero, false
	}
	r, ok := sr.decode(payload)
	if !ok {
		return zero, false
	}
	sr.r.Discard(whole)
	sr.pos += int64(whole)
	sr.lineStart = true
	return r, true
}

// legacyLine reads a JSON line of a spool written before records were
// framed, the '{' already read: up to its newline, or up to the next mark
// (a torn last line followed by framed records), which stays unread.
func (sr *spoolReader[T]) legacyLine() (T, bool) {
	line := []byte{'{'}
	for {
		b, err := sr.r.ReadByte()
		if err != nil {
			break
		}
		if b == recordMark {
			sr.r.UnreadByte()
			sr.lineStart = false
			break
		}
		sr.pos++
		if b == '\n' {
			sr.lineStart = true
			break
		}
		line = append(line, b)
	}
	return sr.decode(line)
}

// Replay reads from the first byte not yet replayed. A torn or damaged
// record is skipped alone and counted (Torn).
func (s *recordFile[T]) Replay(chunk int, write func([]T) error) (int, error) {
	if s.Len() <= 0 {
		return 0, nil
	}
	sr := &spoolReader[T]{decode: s.codec.decode, r: bufio.NewReaderSize(io.NewSectionReader(s.f, s.done, s.size-s.done), 2*maxRecordLen),
		pos: s.done, lineStart: s.done == 0 || s.lineStartAt(s.done)}
	var (
		batch    []T
		replayed int
	)
	countTorn := func() {
		n := sr.torn
		sr.torn = 0
		if d := min(n, s.tornLeft); d > 0 {
			s.tornLeft -= d
			n -= d
		}
		s.torn += int64(n)
	}
	flush := func() error {
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				return err
			}
			replayed += len(batch)
			batch = batch[:0]
		}
		s.done = sr.pos
		countTorn()
		return nil
	}
	for {
		r, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return replayed, fmt.Errorf("prober: read spool %s: %w", s.path, err)
		}
		batch = append(batch, r)
		if len(batch) >= chunk {
			// The bytes of this record are consumed: flush up to them.
			if err := flush(); err != nil {
				return replayed, err
			}
		}
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
	s.size, s.done, s.tornLeft = 0, 0, 0
	return replayed, s.f.Sync()
}

// lineStartAt reports whether the byte before off ends a line or a record.
func (s *recordFile[T]) lineStartAt(off int64) bool {
	b := make([]byte, 1)
	if _, err := s.f.ReadAt(b, off-1); err != nil {
		return false
	}
	return b[0] == '\n'
}

func (s *recordFile[T]) Close() error { return s.f.Close() } // closing releases the lock

// memRecords holds records in memory when no spool file is configured (or
// it cannot be opened): they survive a database outage but not a restart.
type memRecords[T any] struct {
	rs  []T
	max int
}

// memSpool is the memory spool of probe results.
type memSpool = memRecords[models.ProbeResult]

func (m *memRecords[T]) Name() string { return "memory" }

func (m *memRecords[T]) Torn() int64 { return 0 }

func (m *memRecords[T]) Len() int64 { return int64(len(m.rs)) }

func (m *memRecords[T]) Append(rs []T) error {
	if len(m.rs)+len(rs) > m.max {
		return fmt.Errorf("prober: memory spool full (%d records)", m.max)
	}
	m.rs = append(m.rs, rs...)
	return nil
}

func (m *memRecords[T]) Replay(chunk int, write func([]T) error) (int, error) {
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

func (m *memRecords[T]) Close() error { return nil }
