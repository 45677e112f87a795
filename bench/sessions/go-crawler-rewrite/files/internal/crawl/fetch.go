package crawl

import (
	"io"
	"net/http"
	"regexp"
	"time"
)

type Fetcher interface {
	Fetch(url string) (status int, links []string, err error)
}

var hrefRe = regexp.MustCompile(`href="(https?://[^"]+)"`)

type HTTPFetcher struct {
	Client *http.Client
}

func NewHTTPFetcher() *HTTPFetcher {
	return &HTTPFetcher{Client: &http.Client{Timeout: 30 * time.Second}}
}

func (f *HTTPFetcher) Fetch(url string) (int, []string, error) {
	resp, err := f.Client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 5<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var links []string
	for _, m := range hrefRe.FindAllSubmatch(body, -1) {
		links = append(links, string(m[1]))
	}
	return resp.StatusCode, links, nil
}
