package logs

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// readSize is how much Copy reads at a time.
const readSize = 32 * 1024

// Copy reads one output stream of a container until EOF and writes it to
// the log file as CRI records, splitting lines longer than maxLine into P
// records. Every chunk read is handed to tee (for attach clients) as soon as
// it arrives, whole lines or not: `echo -n` output must reach an attached
// client before any newline does. A trailing line without newline is
// written as F at EOF. file may be nil when the container has no log path.
func Copy(file *File, stream string, r io.Reader, maxLine int, tee func([]byte)) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	buf := make([]byte, readSize)
	var pending []byte // the unwritten start of the current line
	write := func(partial bool, line []byte) error {
		if file == nil {
			return nil
		}
		return file.WriteRecord(stream, partial, line)
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if tee != nil {
				tee(chunk)
			}
			pending = append(pending, chunk...)
			start := 0
			for {
				rest := pending[start:]
				if i := bytes.IndexByte(rest, '\n'); i >= 0 && i <= maxLine {
					if werr := write(false, rest[:i]); werr != nil {
						return werr
					}
					start += i + 1
					continue
				}
				if len(rest) >= maxLine {
					if werr := write(true, rest[:maxLine]); werr != nil {
						return werr
					}
					start += maxLine
					continue
				}
				break
			}
			pending = append(pending[:0], pending[start:]...)
		}
		if err != nil {
			if len(pending) > 0 {
				if werr := write(false, pending); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}
