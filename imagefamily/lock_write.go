package imagefamily

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The lock file's reads and its one write. The write is atomic: a reader
// (a concurrent terraform plan, a git add) sees the old file or the new
// one, never a part; a crash leaves the old file and at most a temporary
// file beside it.

// readLockFile reads at most MaxLockFileSize+1 bytes (ParseLock refuses
// more). A missing file is an error matching os.ErrNotExist.
func readLockFile(path string) ([]byte, error) {
	// Looked at before it is opened: opening a named pipe blocks until a
	// writer comes, and no context or signal ends a blocked open.
	if st, err := os.Stat(path); err != nil {
		return nil, pathErr(err)
	} else if !st.Mode().IsRegular() {
		return nil, errors.New("it is not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, pathErr(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, errors.New("it is not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxLockFileSize+1))
	if err != nil {
		return nil, pathErr(err)
	}
	return b, nil
}

// pathErr is a *fs.PathError without its path (the message names the file
// already), keeping its class (os.ErrNotExist, ...).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// LockFileError is a lock file that could not be written; the file is as
// it was.
type LockFileError struct {
	Path   string
	Detail string
	class  error
}

func (e *LockFileError) Error() string {
	return fmt.Sprintf("lock file %q: %s; it was not changed", e.Path, e.Detail)
}

// Is: ErrLockFileChanged (another run wrote the file: exit code 4) or
// nothing (exit code 1).
func (e *LockFileError) Is(target error) bool {
	return e.class != nil && (target == e.class || errors.Is(e.class, target))
}

// linkTarget is the file a path names through symbolic links, which need
// not exist yet (filepath.EvalSymlinks requires that it does).
func linkTarget(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSymlink == 0) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		to, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(path), to)
		}
		path = to
	}
	return "", errors.New("too many levels of symbolic links")
}

// writeLockFile replaces path with data: a temporary file in the same
// directory (a rename is atomic only within one file system), written,
// given the old file's mode (0644 for a new file), synced, then renamed
// over path, and the directory synced so that the rename survives a
// crash. A path that is a symbolic link has its target replaced (or
// created). Just
// before the rename, the file must still hold old (or still not exist):
// otherwise another run wrote it since it was read, and nothing is written.
func writeLockFile(path string, old []byte, existed bool, data []byte) (err error) {
	fail := func(detail string, err error) error {
		return &LockFileError{Path: path, Detail: detail + ": " + pathErr(err).Error()}
	}
	target := path
	mode := fs.FileMode(0o644)
	if !existed {
		// A link to a file not created yet is written through, as a link
		// to an existing file is: the link stays, its target is created.
		if target, err = linkTarget(path); err != nil {
			return fail("cannot follow it", err)
		}
	}
	if existed {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return fail("cannot follow it", err)
		}
		st, err := os.Stat(target)
		if err != nil {
			return fail("cannot read its mode", err)
		}
		mode = st.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fail("cannot create a temporary file beside it", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fail("cannot write the temporary file", err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fail("cannot set the temporary file's mode", err)
	}
	if err = tmp.Sync(); err != nil {
		return fail("cannot sync the temporary file", err)
	}
	if err = tmp.Close(); err != nil {
		return fail("cannot close the temporary file", err)
	}
	cur, rerr := os.ReadFile(target)
	switch {
	case existed && (rerr != nil || !bytes.Equal(cur, old)),
		!existed && !errors.Is(rerr, os.ErrNotExist):
		err = &LockFileError{Path: path, Detail: "it changed while lock ran (another run wrote it?); run lock again", class: ErrLockFileChanged}
		return err
	}
	if err = os.Rename(tmp.Name(), target); err != nil {
		return fail("cannot rename the temporary file over it", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: some file systems cannot sync a directory
		d.Close()
	}
	return nil
}
