package report

import (
	_ "embed"
	"html/template"
	"io"
	"time"
)

//go:embed page.html
var pageHTML string

// page is one self-contained HTML file: inline CSS (with print rules),
// inline SVG charts, no script, and nothing fetched — no font, image,
// style sheet or link outside the file.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"day":       func(rfc3339 string) string { return dayOf(rfc3339) },
	"lastDay":   lastDay,
	"delivered": delivered,
}).Parse(pageHTML))

// WriteHTML writes the report as one self-contained HTML page.
func WriteHTML(w io.Writer, r *Report) error {
	return page.Execute(w, struct {
		*Report
		ByCode, ByDay chart
	}{r, codeChart("Rejections per error code", r.RejectionsByCode),
		dayChart("Rejected records per day", r.RejectionsByDay)})
}

// lastDay is the last day a period ending (exclusively) at until covers.
func lastDay(until string) string {
	t, err := time.Parse(time.RFC3339, until)
	if err != nil {
		return until
	}
	return t.Add(-time.Nanosecond).UTC().Format(time.DateOnly)
}

// delivered is when a file's outputs last reached its source, from its
// batches, for a delivery recorded before the outputs' hashes were.
func delivered(batches []Attempt) string {
	last := ""
	for _, b := range batches {
		last = max(last, b.DeliveredAt)
	}
	return last
}
