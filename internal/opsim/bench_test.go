package opsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// listAll pages through every user with max_page_size=1000 and returns the
// number of pages and users. sample, when not nil, runs after each page.
// With fullDecode false the client skips JSON decoding: it counts users by
// their "path" keys and reads next_page_token from the end of the body, so
// ns/op is dominated by the server.
func listAll(b *testing.B, client *http.Client, base, tok string, fullDecode bool, sample func()) (pages, users int) {
	next := ""
	for {
		u := base + "?max_page_size=1000"
		if next != "" {
			u += "&page_token=" + url.QueryEscape(next)
		}
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, u, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", testUA)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("page %d: status %d: %v", pages, res.StatusCode, err)
		}
		var p struct {
			Results       []struct{} `json:"results"`
			NextPageToken string     `json:"next_page_token"`
		}
		if fullDecode {
			if err := json.Unmarshal(body, &p); err != nil {
				b.Fatal(err)
			}
			users += len(p.Results)
		} else {
			users += bytes.Count(body, []byte(`"path":`))
			if i := bytes.LastIndex(body, []byte(`"next_page_token":"`)); i >= 0 {
				rest := body[i+len(`"next_page_token":"`):]
				p.NextPageToken = string(rest[:bytes.IndexByte(rest, '"')])
			}
		}
		pages++
		if sample != nil {
			sample()
		}
		if p.NextPageToken == "" {
			return pages, users
		}
		next = p.NextPageToken
	}
}

// BenchmarkListAll100k lists 100,000 users over HTTP in pages of 1000.
// ns/op is one full listing; peak-heap-MB is the highest HeapInuse seen
// after any page of one instrumented listing and alloc-MB/listing its
// allocation (server and client together).
// The client=decode variant also pays for decoding every page into
// structs; client=raw measures the server side.
func BenchmarkListAll100k(b *testing.B) {
	e := newEnv(b, opsim.Config{Generate: 100_000})
	tok := e.defaultToken(b)
	client := e.ts.Client()
	base := e.ts.URL + e.usersPath()
	for _, mode := range []struct {
		name string
		full bool
	}{{"client=raw", false}, {"client=decode", true}} {
		b.Run(mode.name, func(b *testing.B) { benchListAll(b, client, base, tok, mode.full) })
	}
}

func benchListAll(b *testing.B, client *http.Client, base, tok string, full bool) {
	var pages int
	for b.Loop() {
		var n int
		pages, n = listAll(b, client, base, tok, full, nil)
		if n != 100_000 {
			b.Fatalf("listed %d users", n)
		}
	}
	b.ReportMetric(float64(pages), "pages/op")

	runtime.GC()
	var before, ms runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := before.HeapInuse
	listAll(b, client, base, tok, full, func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	})
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ms.TotalAlloc-before.TotalAlloc)/(1<<20), "alloc-MB/listing")
}
