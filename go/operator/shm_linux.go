//go:build linux

package operator

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// mapFile creates a file of size bytes in dir (mode 0600), takes a shared
// lock on it for as long as it is mapped (the server releases regions whose
// file nobody holds locked: a client that dies leaves nothing behind) and
// maps it. The caller unlinks it once the server has opened it.
func mapFile(dir string, size int) (*mapping, error) {
	f, err := os.CreateTemp(dir, "sigop-*")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*mapping, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := f.Truncate(int64(size)); err != nil {
		return fail(err)
	}
	fd := int(f.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_SH); err != nil {
		return fail(fmt.Errorf("lock %s: %w", f.Name(), err))
	}
	data, err := syscall.Mmap(fd, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fail(fmt.Errorf("map %s: %w", f.Name(), err))
	}
	return &mapping{
		key:    filepath.Base(f.Name()),
		data:   data,
		unlink: func() { os.Remove(f.Name()) },
		release: func() {
			syscall.Munmap(data)
			f.Close() // drops the lock
		},
	}, nil
}
