package logs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Copy reads one output stream of a container until EOF and writes it to
// the log file as CRI records, splitting lines longer than maxLine into P
// records (bufio allows no less than 16 bytes). Every raw chunk read is also handed to tee (for attach clients)
// when tee is not nil. A trailing line without newline is written as F at
// EOF. file may be nil when the container has no log path.
func Copy(file *File, stream string, r io.Reader, maxLine int, tee func([]byte)) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	br := bufio.NewReaderSize(r, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if tee != nil {
				tee(chunk)
			}
			if file != nil {
				full := chunk[len(chunk)-1] == '\n'
				line := bytes.TrimSuffix(chunk, []byte{'\n'})
				partial := !full && errors.Is(err, bufio.ErrBufferFull)
				if werr := file.WriteRecord(stream, partial, line); werr != nil {
					return werr
				}
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		default:
			return err
		}
	}
}
