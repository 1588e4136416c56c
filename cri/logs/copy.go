package logs

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// Copy reads one output stream of a container until EOF and writes it to
// the log file as CRI records, splitting lines longer than maxLine into P
// records. Every chunk read is handed to tee (for attach clients) as soon as
// it arrives, whole lines or not: `echo -n` output must reach an attached
// client before any newline does. A trailing line without newline is
// written as P at EOF, as containerd does: kubelet ends every F record with
// a newline, and `echo -n DONE` must read back as "DONE" (the
// FallbackToLogsOnError termination message spec of the node conformance
// suite). file may be nil when the container has no log path.
//
// An idle stream holds no read buffer (see readChunks); only the start of
// a line still waiting for its newline is kept between reads.
func Copy(file *File, stream string, r io.Reader, maxLine int, tee func([]byte)) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	write := func(partial bool, line []byte) error {
		if file == nil {
			return nil
		}
		return file.WriteRecord(stream, partial, line)
	}
	var pending []byte // the unwritten start of the current line
	err := readChunks(r, func(chunk []byte) error {
		if tee != nil {
			tee(chunk)
		}
		data := chunk
		if len(pending) > 0 {
			pending = append(pending, chunk...)
			data = pending
		}
		start := 0
		for {
			rest := data[start:]
			if i := bytes.IndexByte(rest, '\n'); i >= 0 && i <= maxLine {
				if err := write(false, rest[:i]); err != nil {
					return err
				}
				start += i + 1
				continue
			}
			if len(rest) >= maxLine {
				if err := write(true, rest[:maxLine]); err != nil {
					return err
				}
				start += maxLine
				continue
			}
			break
		}
		// chunk is only lent for this call: keep a copy of what is left.
		pending = append(pending[:0], data[start:]...)
		if len(pending) == 0 && cap(pending) > keptLineCap {
			pending = nil
		}
		return nil
	})
	if len(pending) > 0 {
		if werr := write(true, pending); werr != nil && err == nil {
			err = werr
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// keptLineCap is the largest buffer for an unfinished line that Copy keeps
// once the line is written.
const keptLineCap = 4 * 1024
