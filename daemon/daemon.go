// Package daemon is `enrollsftp serve`: each source on its own cron
// schedule (runs of one source never overlap; different sources run
// concurrently), /healthz and /metrics over HTTP, and a graceful stop.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"enrollsftp/enroll"
	"enrollsftp/pipeline"
)

// Job is one source and its schedule.
type Job struct {
	Source   pipeline.Source
	Schedule string // cron; a leading seconds field and CRON_TZ= are allowed
}

// Config is what the daemon runs with; cmd/enrollsftp builds it.
type Config struct {
	Ledger     *enroll.Ledger
	LedgerPath string // for the health check, which opens it afresh
	Jobs       []Job
	Run        pipeline.RunOptions
	Addr       string        // HTTP listen address; "" for none
	Shutdown   time.Duration // how long an in-flight file may take to finish on stop
	// BeforePass runs before every pass (the plans are reloaded there).
	BeforePass func(ctx context.Context) error
	// Lock takes the source's lock; an error (held elsewhere) skips the pass.
	Lock func(source string) (release func(), err error)
	Log  zerolog.Logger
	// MinStall is the shortest silence /healthz reports as a stalled run
	// (default 30 s); a source's sftp.timeout, when longer, wins.
	MinStall time.Duration
}

// Parser reads schedules: five fields, or six with leading seconds.
var Parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Daemon is a running `serve`.
type Daemon struct {
	cfg     Config
	metrics *metrics
	mu      sync.Mutex
	state   map[string]*SourceState
	live    map[string]*liveness
	ln      net.Listener
}

// SourceState is what /healthz says of a source.
type SourceState struct {
	Schedule    string `json:"schedule"`
	Running     bool   `json:"running"`
	LastRun     string `json:"last_run"`    // RFC 3339, "" before the first
	LastResult  string `json:"last_result"` // never | ok | error | skipped
	LastError   string `json:"last_error"`
	LastFiles   int    `json:"last_files"`
	LastSuccess string `json:"last_success"`
	// Stalled: the run in progress has shown no progress (bytes from the
	// server, rows processed) for longer than StallAfter.
	Stalled      bool   `json:"stalled"`
	LastProgress string `json:"last_progress,omitempty"` // RFC 3339, while running
}

// liveness is a source's running pass's last sign of life.
type liveness struct {
	progress   atomic.Int64  // Unix nanoseconds
	stallAfter time.Duration // the source's sftp.timeout, at least minStallAfter
}

// minStallAfter keeps a slow step with no heartbeat of its own (a large
// commit, writing a million ack lines) from reading as a stall.
const minStallAfter = 30 * time.Second

// New checks the schedules and binds the HTTP address, so a bad config or
// a taken port fails before anything runs.
func New(cfg Config) (*Daemon, error) {
	d := &Daemon{cfg: cfg, metrics: newMetrics(), state: map[string]*SourceState{}, live: map[string]*liveness{}}
	if cfg.MinStall <= 0 {
		cfg.MinStall = minStallAfter
	}
	for _, j := range cfg.Jobs {
		if _, err := Parser.Parse(j.Schedule); err != nil {
			return nil, fmt.Errorf("daemon: source %s: schedule %q: %w", j.Source.Name, j.Schedule, err)
		}
		d.state[j.Source.Name] = &SourceState{Schedule: j.Schedule, LastResult: "never"}
		d.live[j.Source.Name] = &liveness{stallAfter: max(j.Source.Endpoint.DialTimeout, cfg.MinStall)}
		d.metrics.declare(j.Source.Name)
	}
	if cfg.Addr != "" {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("daemon: http: %w", err)
		}
		d.ln = ln
	}
	return d, nil
}

// Addr is the bound HTTP address (useful with port 0).
func (d *Daemon) Addr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// Serve runs until ctx ends, then stops scheduling, gives a running pass
// cfg.Shutdown to finish (after which its file's transaction is rolled
// back by cancelling it), and returns nil.
func (d *Daemon) Serve(ctx context.Context) error {
	log := d.cfg.Log
	var srv *http.Server
	if d.ln != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", d.healthz)
		mux.Handle("/metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("http server stopped")
			}
		}()
		log.Info().Str("addr", d.Addr()).Msg("serving /healthz and /metrics")
	}
	// Passes get a context of their own: the stop signal ends scheduling,
	// not the file being processed, until the shutdown deadline.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	adapter := cronLogger{log}
	c := cron.New(cron.WithParser(Parser), cron.WithLogger(adapter),
		cron.WithChain(cron.Recover(adapter), cron.SkipIfStillRunning(adapter)))
	for _, j := range d.cfg.Jobs {
		j := j
		if _, err := c.AddFunc(j.Schedule, func() { d.pass(runCtx, j) }); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
	}
	c.Start()
	log.Info().Int("sources", len(d.cfg.Jobs)).Msg("serve started")
	<-ctx.Done()

	log.Info().Dur("deadline", d.cfg.Shutdown).Msg("stopping: no new runs; waiting for running ones")
	done := c.Stop().Done()
	select {
	case <-done:
	case <-time.After(d.cfg.Shutdown):
		log.Warn().Msg("shutdown deadline reached: rolling back the file in progress")
		cancelRuns()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			log.Error().Msg("a run did not stop within 10s of being cancelled")
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	log.Info().Msg("serve stopped")
	return nil
}

// pass is one scheduled run of a source.
func (d *Daemon) pass(ctx context.Context, j Job) {
	name := j.Source.Name
	log := d.cfg.Log.With().Str("source", name).Logger()
	if d.cfg.Lock != nil {
		release, err := d.cfg.Lock(name)
		if err != nil {
			log.Warn().Err(err).Msg("run skipped: another process is taking this source's files")
			d.update(name, func(s *SourceState) { s.LastResult, s.LastError = "skipped", err.Error() })
			return
		}
		defer release()
	}
	start := time.Now()
	live := d.live[name]
	live.progress.Store(start.UnixNano())
	d.update(name, func(s *SourceState) { s.Running = true })
	opts := d.cfg.Run
	opts.Progress = func() { live.progress.Store(time.Now().UnixNano()) }
	var reports []pipeline.FileReport
	err := d.cfg.BeforePass(ctx)
	if err == nil {
		// RunSource adds the source to its lines itself.
		reports, err = pipeline.RunSource(ctx, d.cfg.Ledger, d.cfg.Log, j.Source, opts)
	}
	end := time.Now()
	d.metrics.observe(name, reports, end.Sub(start).Seconds(), err, float64(end.Unix()))
	d.update(name, func(s *SourceState) {
		s.Running, s.LastRun, s.LastFiles = false, end.UTC().Format(time.RFC3339), len(reports)
		s.LastResult, s.LastError = "ok", ""
		if err != nil {
			s.LastResult, s.LastError = "error", err.Error()
			return
		}
		s.LastSuccess = s.LastRun
	})
	if err != nil {
		log.Error().Err(err).Int("files", len(reports)).Msg("run failed")
		return
	}
	log.Info().Int("files", len(reports)).Dur("took", end.Sub(start)).Msg("run finished")
}

func (d *Daemon) update(source string, f func(*SourceState)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.state[source])
}

// healthz answers 200 with every source's last run, or 503 when the ledger
// cannot be opened or a run is stalled: running, with no progress for
// longer than its source's timeout. The watchdog on SFTP requests cuts a
// stalled server well before; this catches a run stuck anywhere else.
func (d *Daemon) healthz(w http.ResponseWriter, r *http.Request) {
	body := struct {
		Status  string                 `json:"status"`
		Ledger  string                 `json:"ledger"`
		Sources map[string]SourceState `json:"sources"`
	}{Status: "ok", Ledger: "ok", Sources: map[string]SourceState{}}
	code := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := enroll.Check(ctx, d.cfg.LedgerPath); err != nil {
		body.Status, body.Ledger, code = "unavailable", err.Error(), http.StatusServiceUnavailable
	}
	now := time.Now()
	d.mu.Lock()
	for k, v := range d.state {
		s := *v
		if live := d.live[k]; v.Running {
			last := time.Unix(0, live.progress.Load())
			s.LastProgress = last.UTC().Format(time.RFC3339)
			if now.Sub(last) > live.stallAfter {
				s.Stalled = true
				body.Status, code = "stalled", http.StatusServiceUnavailable
			}
		}
		body.Sources[k] = s
	}
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

// cronLogger sends robfig/cron's messages to zerolog.
type cronLogger struct{ log zerolog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.log.Warn().Fields(kv).Msg("run skipped: the previous run of this source is still going")
		return
	}
	c.log.Debug().Fields(kv).Msg("cron: " + msg)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}
