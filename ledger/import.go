package ledger

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// ImportJournal writes the journal of a data folder that holds no ledger
// yet from event bodies given in order, so that Open replays them into a
// new database and checks each against the fold and the tree. It is how a
// lost hub is rebuilt from a mirror (the mirror's entries were already
// checked against a signed checkpoint). It refuses a folder that already
// holds a database or a journal, and leaves no journal when bodies fails.
func ImportJournal(dir string, bodies func(add func(body []byte) error) error) error {
	for _, name := range []string{DatabaseFile, JournalFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s already holds %s: import only into a folder without a ledger", dir, name)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, JournalFile+".import")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	err = bodies(func(body []byte) error {
		buf = appendJournalRecord(buf[:0], journalRecord{Body: body})
		_, err := w.Write(buf)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The bodies are this version's events (Open replays them through the
	// fold and refuses what does not follow).
	if err := writeFileAtomic(filepath.Join(dir, FormatFile), []byte(EventFormat+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, JournalFile)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
