package main

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
)

// watcher reports which entries of the directory changed, so that the
// index reads only those instead of listing the whole directory on every
// call. Any process's change counts: another connector replica's plugin
// sharing the directory, or a person copying a file in.
type watcher interface {
	// changes returns the names of the entries created, written, moved in
	// or out, or removed since the last call (a name may repeat). ok is
	// false when the watcher lost track (its queue overflowed, the
	// directory was removed, moved or unmounted): the caller must list
	// the directory and start a new watcher.
	changes() (names []string, ok bool, err error)
	close()
}

// index maps correlation keys to the work items stamped with them, for
// every work item file in the directory, and knows the highest id number
// taken. sync brings it up to date: with a watcher it reads only the files
// that changed, so a call costs the same with 100,000 files as with 10;
// without one (another OS, or the kernel refused a watch) it lists the
// directory each time.
type index struct {
	store    *store
	newWatch func(dir string) (watcher, error)
	skipped  func(id string, err error) // logs a file that cannot be read
	// unwatched logs why the directory is not watched (every sync then
	// lists it), once for each new reason.
	unwatched    func(err error)
	unwatchedWhy string

	watch     watcher              // nil: the next sync lists the directory
	stale     bool                 // a read failed: list the directory at the next sync
	keyOf     map[string]string    // id → correlation key, every readable work item
	byKey     map[string][]string  // correlation key → ids
	bad       map[string]fileStamp // ids whose files are not valid work items, as last read
	maxNumber int                  // highest id number seen, valid or not
}

func newIndex(s *store, newWatch func(string) (watcher, error), skipped func(string, error)) *index {
	return &index{
		store: s, newWatch: newWatch, skipped: skipped,
		keyOf: map[string]string{}, byKey: map[string][]string{}, bad: map[string]fileStamp{},
	}
}

// sync brings the index up to date with the directory.
func (x *index) sync() error {
	if x.watch != nil && !x.stale {
		names, ok, err := x.watch.changes()
		if err == nil && ok {
			// Each changed file once, as it is now (a copy is created,
			// then written: two events).
			slices.Sort(names)
			for _, name := range slices.Compact(names) {
				if id, ok := idOfName(name); ok {
					x.load(id)
				}
			}
			return nil
		}
	}
	// Watch first, then list: a file added while listing is then also
	// reported by the new watcher, and read again, which is harmless.
	x.close()
	w, err := x.newWatch(x.store.dir)
	if err == nil {
		x.watch, x.unwatchedWhy = w, ""
	} else if err.Error() != x.unwatchedWhy {
		x.unwatchedWhy = err.Error()
		if x.unwatched != nil {
			x.unwatched(err)
		}
	}
	return x.rescan()
}

// rescan lists the directory: it reads the files not in the index (and the
// invalid ones that changed since) and forgets the ids whose files are gone.
func (x *index) rescan() error {
	ids, maxNumber, err := x.store.ids()
	if err != nil {
		x.close() // the directory is gone or unreadable: watch it anew next time
		return err
	}
	x.stale = false
	present := make(map[string]bool, len(ids))
	for _, id := range ids {
		present[id] = true
		if _, known := x.keyOf[id]; known {
			continue
		}
		// A file found invalid before is read again only once it changed.
		if st, bad := x.bad[id]; !bad || !st.current(x.store.path(id)) {
			x.load(id)
		}
	}
	for id := range x.keyOf {
		if !present[id] {
			x.forget(id)
		}
	}
	for id := range x.bad {
		if !present[id] {
			delete(x.bad, id)
		}
	}
	x.maxNumber = max(x.maxNumber, maxNumber)
	return nil
}

// load reads the correlation key of one file, as it is now, into the index.
func (x *index) load(id string) {
	if n, ok := idNumber(id); ok {
		x.maxNumber = max(x.maxNumber, n)
	}
	key, stamp, err := x.store.readKey(id)
	switch {
	case err == nil:
		x.put(id, key)
	case errors.Is(err, fs.ErrNotExist):
		x.forget(id)
	case errors.Is(err, errUnreadable):
		// Retrying cannot fix it, so it is reported once, and read again
		// only once written again (a copy that was still in progress):
		// the watcher reports the write, a listing sees a new stamp.
		x.forget(id)
		x.bad[id] = stamp
		x.skipped(id, err)
	default:
		x.skipped(id, err) // an I/O error: try again at the next sync
		x.stale = true
	}
}

// put records that the file id is stamped with key.
func (x *index) put(id, key string) {
	delete(x.bad, id)
	if old, ok := x.keyOf[id]; ok {
		if old == key {
			return
		}
		x.forget(id)
	}
	x.keyOf[id] = key
	x.byKey[key] = append(x.byKey[key], id)
	if n, ok := idNumber(id); ok {
		x.maxNumber = max(x.maxNumber, n)
	}
}

// forget drops id from the index.
func (x *index) forget(id string) {
	key, ok := x.keyOf[id]
	if !ok {
		return
	}
	delete(x.keyOf, id)
	x.byKey[key] = slices.DeleteFunc(x.byKey[key], func(s string) bool { return s == id })
	if len(x.byKey[key]) == 0 {
		delete(x.byKey, key)
	}
}

// ids returns the ids of the files stamped with key.
func (x *index) ids(key string) []string { return slices.Clone(x.byKey[key]) }

// close stops the watcher; the next sync lists the directory.
func (x *index) close() {
	if x.watch != nil {
		x.watch.close()
		x.watch = nil
	}
}

// idOfName returns the work item id a directory entry's name stands for;
// other names (temporary files, anything an operator put there) are not
// work items.
func idOfName(name string) (string, bool) {
	id, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return "", false
	}
	_, ok = idNumber(id)
	return id, ok
}
