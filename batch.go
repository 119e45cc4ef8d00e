package enrollsftp

import "fmt"

// FileType is the kind of file a batch holds.
type FileType string

// The two file types of SPEC §4.
const (
	Census    FileType = "census"
	Elections FileType = "elections"
)

// ParseFileType accepts the names used on the command line and in configs.
func ParseFileType(s string) (FileType, error) {
	switch s {
	case "census":
		return Census, nil
	case "elections", "election":
		return Elections, nil
	}
	return "", fmt.Errorf("unknown file type %q (want census or elections)", s)
}

// Batch statuses (SPEC §9).
const (
	BatchReceived = "RECEIVED"
	BatchApplied  = "APPLIED"
	BatchRejected = "REJECTED"
	BatchHeld     = "HELD"
	BatchFailed   = "FAILED"
	// BatchDryRun is the status a dry run's outputs give: nothing was
	// applied, whatever the file would have become.
	BatchDryRun = "DRY_RUN"
)

// Record statuses (SPEC §5).
const (
	RecordAccepted   = "ACCEPTED"
	RecordRejected   = "REJECTED"
	RecordDuplicate  = "DUPLICATE"
	RecordPendingKYC = "PENDING_KYC"
)

// Batch is the summary of one processed file: what the ack.json says and
// what `batches` lists.
type Batch struct {
	ID          string
	Source      string
	File        string
	Type        FileType
	SHA256      string
	Size        int64
	Status      string
	Rows        int
	Accepted    int
	Rejected    int
	Duplicate   int
	PendingKYC  int
	ReceivedAt  string // RFC 3339, UTC
	ProcessedAt string // RFC 3339, UTC
	FileErrors  Errors
	// Header is the input's own header row, kept so the error file can give
	// rejected rows back in the vendor's columns.
	Header []string

	// Kept for operators (batch show, rerun); not part of the ack.
	Layout       string
	StagedPath   string
	StagedSHA256 string // when the staged copy is not the received bytes (a decrypted file)
	Encrypted    bool   // received as OpenPGP
	Error        string // why a FAILED batch failed
	SupersededBy string // the rerun that replaced this batch
	DeliveredAt  string
	// StagedRemovedAt is when staging_retention deleted the staged copy
	// (RFC 3339); empty while it is kept.
	StagedRemovedAt string
	// EarlierBatchID is, for a file answered FILE_ALREADY_PROCESSED (which
	// has no batch of its own), the batch that applied its bytes.
	EarlierBatchID string
	// DryRun: the batch was rolled back after its outputs were written;
	// the ledger has no such batch.
	DryRun bool
	// MaxRejectRatio is the hold threshold the file was processed under
	// (0: never held).
	MaxRejectRatio float64
}

// RejectRatio is the rejected share of the batch's rows.
func (b Batch) RejectRatio() float64 {
	if b.Rows == 0 {
		return 0
	}
	return float64(b.Rejected) / float64(b.Rows)
}

// HoldReason says why a HELD batch was held, with the figures.
func (b Batch) HoldReason() string {
	s := fmt.Sprintf("%d of %d rows rejected (%.1f%%), over the max_reject_ratio of %g (%.1f%%): nothing applied",
		b.Rejected, b.Rows, 100*b.RejectRatio(), b.MaxRejectRatio, 100*b.MaxRejectRatio)
	if b.ID != "" && !b.DryRun {
		s += fmt.Sprintf("; release it with `enrollsftp rerun %s --force --reason TEXT`", b.ID)
	}
	return s
}

// Statuses are the batch statuses a listing can be filtered by.
var Statuses = []string{BatchReceived, BatchApplied, BatchRejected, BatchHeld, BatchFailed, BatchReleased}

// BatchReleased is how a listing shows a HELD batch an operator released
// (a rerun superseded it): it no longer waits for anyone.
const BatchReleased = "RELEASED"

// Shown is the status a listing gives the batch: RELEASED for a HELD batch
// a rerun superseded, else its own.
func (b Batch) Shown() string {
	if b.Status == BatchHeld && b.SupersededBy != "" {
		return BatchReleased
	}
	return b.Status
}

// Outcome is one input record's result: one row of the ack file, and for a
// rejected record, the masked input cells the error file gives back.
type Outcome struct {
	Line         int
	RecordID     string
	EmployerID   string
	EmployeeID   string
	Action       string
	Status       string
	Codes        string
	Message      string
	PerPayPeriod string // "100.00", or "" when there is none
	Raw          []string
}

// FormatCents renders integer cents as dollars with two decimals.
func FormatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
