package pipeline

import (
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"

	"enrollsftp/enroll"
)

// Progress says how a long file's progress is shown while it is read.
type Progress struct {
	// Terminal, when set, is a terminal to draw a bar on: percent of the
	// bytes read, rows and rows/s, ETA. Never a file or a pipe: the bar
	// redraws its line with carriage returns.
	Terminal io.Writer
	// Every is how often, when Terminal is nil, a "progress" line goes to
	// the file's log; 0 means DefaultProgressEvery.
	Every time.Duration
}

// DefaultProgressEvery is how often a "progress" log line is written.
const DefaultProgressEvery = 10 * time.Second

// barEvery is how often the bar is redrawn.
const barEvery = 250 * time.Millisecond

// meter is how far one file has got. It is written by the reading
// goroutine and read by the one that shows it, hence atomics.
type meter struct {
	bytes atomic.Int64 // of the staged file read so far
	rows  atomic.Int64 // records read and validated so far
	total int64        // the staged file's size
	start time.Time
}

// countingReader counts the bytes read through it into n: one atomic add
// per Read (the decryptor and the CSV reader read 64 KiB at a time), none
// per row, so the hot path stays as it was.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countRows counts the records rows yields: an atomic add per row, O(1)
// and allocation-free.
func (m *meter) countRows(rows enroll.Rows) enroll.Rows {
	return func() (enroll.Record, error) {
		rec, err := rows()
		if err == nil {
			m.rows.Add(1)
		}
		return rec, err
	}
}

// progressSample is a meter read at one moment.
type progressSample struct {
	read, total, rows int64
	percent, rowsPerS float64
	etaS              float64 // < 0: unknown (nothing read yet)
}

func (m *meter) sample(now time.Time) progressSample {
	s := progressSample{read: min(m.bytes.Load(), m.total), total: m.total, rows: m.rows.Load(), etaS: -1}
	elapsed := now.Sub(m.start).Seconds()
	if s.total > 0 {
		s.percent = math.Round(float64(s.read)*1000/float64(s.total)) / 10
	}
	if elapsed > 0 {
		s.rowsPerS = math.Round(float64(s.rows) / elapsed)
		if s.read > 0 {
			s.etaS = math.Round(float64(s.total-s.read) / (float64(s.read) / elapsed))
		}
	}
	return s
}

// show shows m's progress until stop is called: a bar on p.Terminal, or a
// log line every p.Every. Nothing is shown for a file done before the
// first tick.
func (p *Progress) show(m *meter, log zerolog.Logger, name string) (stop func()) {
	every := p.Every
	if p.Terminal != nil {
		every = barEvery
	} else if every <= 0 {
		every = DefaultProgressEvery
	}
	var bar *progressbar.ProgressBar
	if p.Terminal != nil && m.total > 0 { // an empty file has no bar to fill
		bar = newBar(p.Terminal, m.total)
		bar.StartWithoutRender() // its clock, for the rate and the ETA, starts with the file
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				s := m.sample(now)
				switch {
				case p.Terminal == nil:
					logProgress(log, s)
				case bar != nil && !bar.IsFinished():
					// (Drawn full, its line is ended: drawn again, it would
					// come out once more below what follows.)
					bar.Describe(fmt.Sprintf("%s: %d rows, %.0f rows/s", name, s.rows, s.rowsPerS))
					_ = bar.Set64(s.read)
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if bar != nil && bar.String() != "" && !bar.IsFinished() { // drawn, not full
			_ = bar.Exit() // ends the line: what is printed next starts on its own
		}
	}
}

// logProgress writes one "progress" line; the logger carries the file.
func logProgress(log zerolog.Logger, s progressSample) {
	e := log.Info().Int64("bytes_read", s.read).Int64("bytes_total", s.total).Float64("percent", s.percent).
		Int64("rows", s.rows).Float64("rows_per_s", s.rowsPerS)
	if s.etaS >= 0 {
		e = e.Float64("eta_s", s.etaS)
	}
	e.Msg("progress")
}

// newBar is a bar of total bytes on w: percent, bytes, the elapsed time
// and the time left (the ETA).
func newBar(w io.Writer, total int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}
