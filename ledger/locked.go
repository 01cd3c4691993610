package ledger

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
)

// lockHolder reports whether err is DuckDB refusing a database another
// process holds open (a running hub), and the process as DuckDB names it,
// such as "/usr/local/bin/plenty (PID 4242)". DuckDB locks the file for
// the whole life of the process that opened it for writing, so check,
// export and recover cannot open a running hub's folder.
func lockHolder(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	msg := err.Error()
	if !strings.Contains(msg, "Could not set lock on file") {
		return "", false
	}
	holder := "another process"
	if _, rest, ok := strings.Cut(msg, "Conflicting lock is held in "); ok {
		if h, _, ok := strings.Cut(rest, ". "); ok {
			holder = h
		} else {
			holder = strings.TrimSuffix(rest, ".")
		}
	}
	return holder, true
}

// lockedMessage says that the folder is in use, by whom, and how to
// proceed: nothing is damaged.
func lockedMessage(dir, holder string) string {
	return fmt.Sprintf(`the ledger in %s is in use by %s: a hub is running on this folder.
The files are fine. check, export and recover need the hub stopped:
stop it (Ctrl-C where it runs, or kill the PID above) and run the command again.
While it runs, its open data can be read over HTTP instead:

    plenty export http://HOST:PORT --out DIR    (a verified copy of /open/)
    plenty verify http://HOST:PORT              (check it in place)`,
		dir, holder)
}

// Locked reports whether the database could not be opened because another
// process (a running hub) holds it, rather than because it is damaged.
func (e *OpenError) Locked() bool {
	_, ok := lockHolder(e.Err)
	return ok
}

// checkNotLocked refuses a folder whose database another process holds:
// moving a running hub's files aside would lose its writes.
func checkNotLocked(dir string) error {
	db, err := openReadOnly(filepath.Join(dir, DatabaseFile))
	if db != nil {
		db.Close()
	}
	if _, locked := lockHolder(err); locked {
		return &OpenError{Dir: dir, Err: err}
	}
	return nil
}

// openReadOnly opens and pings a database without taking it for writing.
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err == nil {
		err = db.Ping()
	}
	return db, err
}
