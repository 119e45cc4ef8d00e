package export_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrollsftp/export"
	"enrollsftp/ingest"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"
)

// server serves a fresh temporary folder over the embedded SFTP server and
// returns a client connected to it; both are closed when the test ends,
// the client first.
func server(t testing.TB) (root string, c *sftp.Client) {
	t.Helper()
	srv, err := ingest.StartEmbedded(t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep := srv.Endpoint
	ep.DialTimeout = 10 * time.Second
	cl, err := ingest.Dial(ctx, ep, zerolog.Nop())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return srv.Root, cl.SFTP
}

// writeFile writes body to dir/name, making dir, and returns the path.
func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tree lists every file and folder under root, relative and slash-separated,
// with the contents of files ("" for folders).
func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestUpload(t *testing.T) {
	const name = "census_20261115.ack.csv"
	tests := []struct {
		name     string
		existing map[string]string // remote files before the upload, relative to the root
		want     string            // the remote file's contents after the upload
	}{
		{name: "new file", existing: map[string]string{"outbound/": ""}},
		{name: "replaces an existing file", existing: map[string]string{"outbound/" + name: "older ack\n"}},
		{name: "overwrites a stale partial upload", existing: map[string]string{"outbound/" + name + ".part": "half an a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, c := server(t)
			for p, body := range tt.existing {
				if dir, ok := cutSlash(p); ok {
					if err := os.MkdirAll(filepath.Join(root, dir), 0o700); err != nil {
						t.Fatal(err)
					}
					continue
				}
				writeFile(t, filepath.Join(root, filepath.Dir(p)), filepath.Base(p), body)
			}
			body := "line,record_id,status\r\n2,R1,ACCEPTED\r\n"
			local := writeFile(t, t.TempDir(), name, body)

			got, err := export.Upload(c, local, ingest.ServedPath("/outbound"))
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if want := "outbound/" + name; got != want {
				t.Errorf("Upload = %q, want %q", got, want)
			}
			want := map[string]string{"outbound/": "", "outbound/" + name: body}
			if g := tree(t, root); !equalTrees(g, want) {
				t.Errorf("remote tree = %q, want %q (NAME with the new bytes, no NAME.part)", g, want)
			}
			// An output may hold names and addresses: 0600 on the server too.
			if st, err := os.Stat(filepath.Join(root, "outbound", name)); err != nil {
				t.Error(err)
			} else if st.Mode().Perm() != 0o600 {
				t.Errorf("uploaded file mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

// cutSlash reports whether p names a folder ("dir/") and returns it.
func cutSlash(p string) (string, bool) {
	if len(p) > 0 && p[len(p)-1] == '/' {
		return p[:len(p)-1], true
	}
	return "", false
}

func TestUploadTwice(t *testing.T) {
	root, c := server(t)
	if err := os.Mkdir(filepath.Join(root, "outbound"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "elections_1.ack.json")
	for i, body := range []string{`{"status":"HELD"}`, `{"status":"APPLIED","rows":3}`} {
		if err := os.WriteFile(local, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := export.Upload(c, local, "outbound"); err != nil {
			t.Fatalf("Upload %d: %v", i+1, err)
		}
		want := map[string]string{"outbound/": "", "outbound/elections_1.ack.json": body}
		if g := tree(t, root); !equalTrees(g, want) {
			t.Errorf("after upload %d: remote tree = %q, want %q", i+1, g, want)
		}
	}
}

func TestUploadFails(t *testing.T) {
	tests := []struct {
		name      string
		local     func(t *testing.T) string
		remoteDir string
	}{
		{
			name:      "missing remote folder",
			local:     func(t *testing.T) string { return writeFile(t, t.TempDir(), "a.ack.csv", "x\n") },
			remoteDir: "nope",
		},
		{
			name:      "missing local file",
			local:     func(t *testing.T) string { return filepath.Join(t.TempDir(), "a.ack.csv") },
			remoteDir: "outbound",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, c := server(t)
			if err := os.Mkdir(filepath.Join(root, "outbound"), 0o700); err != nil {
				t.Fatal(err)
			}
			before := tree(t, root)

			got, err := export.Upload(c, tt.local(t), tt.remoteDir)
			if err == nil {
				t.Fatalf("Upload = %q, want an error", got)
			}
			if g := tree(t, root); !equalTrees(g, before) {
				t.Errorf("remote tree after a failed upload = %q, want it unchanged %q", g, before)
			}
		})
	}
}

func TestArchive(t *testing.T) {
	now := time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC)
	const name = "census_20261115.csv"
	tests := []struct {
		name string
		now  time.Time
		want string // where the third copy lands
	}{
		{"utc clock", now, "archive/" + name + ".20261115T020000Z.2"},
		{"local clock, suffix in UTC", now.In(time.FixedZone("EST", -5*3600)), "archive/" + name + ".20261115T020000Z.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, c := server(t)
			if err := os.Mkdir(filepath.Join(root, "archive"), 0o700); err != nil {
				t.Fatal(err)
			}
			inbound := filepath.Join(root, "inbound")
			wantTree := map[string]string{"inbound/": "", "archive/": ""}
			// Three files of the same name arrive and are archived in the
			// same second: each lands under its own name, none overwritten.
			for i, want := range []string{
				"archive/" + name,
				"archive/" + name + ".20261115T020000Z",
				tt.want,
			} {
				body := []string{"first\n", "second\n", "third\n"}[i]
				writeFile(t, inbound, name, body)

				got, err := export.Archive(c, "inbound/"+name, ingest.ServedPath("/archive"), tt.now)
				if err != nil {
					t.Fatalf("Archive %d: %v", i+1, err)
				}
				if got != want {
					t.Errorf("Archive %d = %q, want %q", i+1, got, want)
				}
				wantTree[want] = body
				if g := tree(t, root); !equalTrees(g, wantTree) {
					t.Errorf("after archive %d: remote tree = %q, want %q", i+1, g, wantTree)
				}
			}
		})
	}
}

func TestArchiveFails(t *testing.T) {
	tests := []struct {
		name    string
		archive bool // the archive folder exists
		input   string
	}{
		{"missing archive folder", false, "inbound/census_1.csv"},
		{"missing input", true, "inbound/census_2.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, c := server(t)
			writeFile(t, filepath.Join(root, "inbound"), "census_1.csv", "a\n")
			if tt.archive {
				if err := os.Mkdir(filepath.Join(root, "archive"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			before := tree(t, root)

			got, err := export.Archive(c, tt.input, "archive", time.Date(2026, 11, 15, 2, 0, 0, 0, time.UTC))
			if err == nil {
				t.Fatalf("Archive = %q, want an error", got)
			}
			if g := tree(t, root); !equalTrees(g, before) {
				t.Errorf("remote tree after a failed archive = %q, want it unchanged %q", g, before)
			}
		})
	}
}

func TestServerOffersPosixRename(t *testing.T) {
	// Upload replaces files through posix-rename@openssh.com where offered;
	// the embedded server offers it, so these tests take that path.
	_, c := server(t)
	if _, ok := c.HasExtension("posix-rename@openssh.com"); !ok {
		t.Error("embedded server does not offer posix-rename@openssh.com")
	}
}
