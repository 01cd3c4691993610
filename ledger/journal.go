package ledger

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/plentyhub/plenty"
)

// The journal is a second, plain copy of every event, written and synced
// before the DuckDB transaction that commits the same events. It exists
// for one reason: DuckDB releases have had write-ahead-log replay bugs that
// left a database unopenable after a crash. With the journal, no
// acknowledged event depends on DuckDB's WAL alone: Open replays into
// DuckDB what the journal holds beyond it, and Recover rebuilds a damaged
// database from it.
//
// Each record is: u32 length of payload, u32 CRC-32C of payload, payload.
// The payload is: u16 length of the idempotency key, the key, u8 length of
// the request hash, the hash, u8 number of credentials and for each a u8
// length and the holder, a u8 length and the hash, then the event body.
// Credentials are private: they are never part of the body. A torn record at the end
// (a crash during the write) fails its length or checksum and is dropped:
// it was never acknowledged.
//
// The file is zero-filled ahead of the records (journalChunk at a time)
// and records overwrite the zeros in place, so that syncing a batch is a
// data-only sync (fdatasync) of blocks already allocated: it neither
// changes the file's size nor waits for the file system's own journal,
// which would also flush whatever DuckDB has written meanwhile. A zero
// length ends the records, like a torn one. Open cuts the file at the last
// intact record, and Close cuts the zeros off again.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalRecord is one event as the journal keeps it.
type journalRecord struct {
	IdemKey     string
	RequestHash string
	Credentials []plenty.Credential
	Body        []byte
}

type journal struct {
	f         *os.File
	buf       []byte
	off       int64 // end of the records
	allocated int64 // the file's size: zeros from off to here
}

// journalChunk is how much the journal zero-fills ahead at a time.
const journalChunk = 16 << 20

func appendJournalRecord(buf []byte, r journalRecord) []byte {
	n := 2 + len(r.IdemKey) + 1 + len(r.RequestHash) + 1 + len(r.Body)
	for _, c := range r.Credentials {
		n += 2 + len(c.Holder) + len(c.Hash)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	crcAt := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	start := len(buf)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(r.IdemKey)))
	buf = append(buf, r.IdemKey...)
	buf = append(buf, byte(len(r.RequestHash)))
	buf = append(buf, r.RequestHash...)
	buf = append(buf, byte(len(r.Credentials)))
	for _, c := range r.Credentials {
		buf = append(buf, byte(len(c.Holder)))
		buf = append(buf, c.Holder...)
		buf = append(buf, byte(len(c.Hash)))
		buf = append(buf, c.Hash...)
	}
	buf = append(buf, r.Body...)
	binary.BigEndian.PutUint32(buf[crcAt:], crc32.Checksum(buf[start:], castagnoli))
	return buf
}

// maxJournalRecord bounds a record's length, so a damaged length field
// cannot make the reader allocate gigabytes.
const maxJournalRecord = 64 << 20

// readJournal calls fn for each intact record in order and returns the
// byte offset just past the last intact record. It stops at the first torn
// or damaged record without error: what follows was never acknowledged, or
// cannot be trusted.
func readJournal(r io.Reader, fn func(journalRecord) error) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var off int64
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return off, nil
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if n < 3 || n > maxJournalRecord {
			return off, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return off, nil
		}
		if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return off, nil
		}
		rec, ok := parseJournalPayload(payload)
		if !ok {
			return off, nil
		}
		if err := fn(rec); err != nil {
			return off, err
		}
		off += 8 + int64(n)
	}
}

func parseJournalPayload(p []byte) (journalRecord, bool) {
	if len(p) < 2 {
		return journalRecord{}, false
	}
	k := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	if len(p) < k+1 {
		return journalRecord{}, false
	}
	key := string(p[:k])
	p = p[k:]
	h := int(p[0])
	p = p[1:]
	if len(p) < h+1 {
		return journalRecord{}, false
	}
	rec := journalRecord{IdemKey: key, RequestHash: string(p[:h])}
	p = p[h:]
	nc := int(p[0])
	p = p[1:]
	for i := 0; i < nc; i++ {
		var parts [2]string
		for j := range parts {
			if len(p) < 1 || len(p) < 1+int(p[0]) {
				return journalRecord{}, false
			}
			parts[j], p = string(p[1:1+int(p[0])]), p[1+int(p[0]):]
		}
		rec.Credentials = append(rec.Credentials, plenty.Credential{Holder: parts[0], Hash: parts[1]})
	}
	rec.Body = p
	return rec, true
}

// openJournal opens the journal at path for appending at offset end,
// cutting off anything after it (a torn tail).
func openJournal(path string, end int64) (*journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, fmt.Errorf("cut the journal's torn tail: %w", err)
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return &journal{f: f, off: end, allocated: end}, nil
}

// write appends records and syncs them to stable storage.
func (j *journal) write(recs []journalRecord) error {
	j.buf = j.buf[:0]
	for _, r := range recs {
		j.buf = appendJournalRecord(j.buf, r)
	}
	if j.off+int64(len(j.buf)) > j.allocated {
		if err := j.extend(int64(len(j.buf))); err != nil {
			return fmt.Errorf("extend journal: %w", err)
		}
	}
	if _, err := j.f.WriteAt(j.buf, j.off); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := datasync(j.f); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	j.off += int64(len(j.buf))
	return nil
}

// extend zero-fills at least need bytes beyond the allocated end and
// syncs the file with its new size.
func (j *journal) extend(need int64) error {
	n := max(need, journalChunk)
	zeros := make([]byte, 1<<20)
	for written := int64(0); written < n; {
		k := min(int64(len(zeros)), n-written)
		if _, err := j.f.WriteAt(zeros[:k], j.allocated+written); err != nil {
			return err
		}
		written += k
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	j.allocated += n
	return nil
}

// close cuts the zeros after the last record off and closes the file.
func (j *journal) close() error {
	if j == nil || j.f == nil {
		return nil
	}
	err := j.f.Truncate(j.off)
	if err == nil {
		err = j.f.Sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}
